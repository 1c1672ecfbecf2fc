"""How an untrusted server is confined: limits, an unprivileged user, a scratch copy.

`ServerProcess` (harness.server.launcher) calls a `Sandbox`, when its spec has one, at
three moments: `prepare()` just before spawning (argv, working directory and a
preexec function), `explain()` when describing an exit, `release()` after the
server's tree is gone. No pytest here.

Rules:
- Where bubblewrap works (`harness.system.bwrap`; not with `--no-bwrap`), every
  instance runs in a sandbox of its own, on top of everything below: bwrap
  is spawned with the limits set, and as root the sandbox's init starts the
  server as the instance's fresh uid (no setpriv, no capability: bwrap shows
  it the interpreter). Otherwise the fallback below, with one note.
- Limits (`harness.system.limits`) apply to every server. Where a memory cgroup can
  be made (`harness.system.memcg`), each instance gets one at its memory limit,
  joined first in the preexec function (before the limits and the uid drop),
  so shared memory, tmpfs files and memfd count too; it is removed in
  `release()`, and its OOM kills are how `explain()` knows the limit struck.
- When the harness runs as root, each server instance runs as a fresh
  unprivileged uid/gid (no name, no groups, picked from the uids this system
  maps), so `RLIMIT_NPROC` counts exactly that server's tasks and the server
  cannot write the harness's or anybody's files. If the server's interpreter is
  only reachable through a private folder (e.g. pyenv under /root), the server
  also keeps one capability, CAP_DAC_READ_SEARCH (read any file, no writes),
  granted through setpriv(1) — stated in the README.
- Not root: the server keeps the user's uid. Inside the user namespace of
  `harness.system.isolation` the process limit counts only the tasks of that
  namespace (this process's threads are added to it); without isolation the
  user's current task count is added (approximate).
- The scratch copy (`harness.system.scratch`) is planned once per process and copied
  afresh for every instance, into `WORKDIR/submission`; it is deleted in
  `release()`, with (fallback as root) whatever the instance's uid left in
  `/tmp`, `/var/tmp` and `/dev/shm`.
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness.errors import ServerStartError
from harness.system import bwrap, cpucg, isolation, memcg, processes, scratch, sysvipc
from harness.system import limits as limits_module
from harness.system.limits import Limits
from harness.system.python_path import standard_library_first
from harness.system.reach import reachable_by_others
from harness.system.safe_files import remove_tree
from harness.terminal import safe_text

CAP_DAC_READ_SEARCH, CAP_SETGID, CAP_SETUID = 2, 6, 7
#: Unprivileged uids are drawn from here (if mapped), else from FALLBACK_UIDS.
SANDBOX_UIDS = (200_000, 1_200_000)
FALLBACK_UIDS = (30_000, 60_000)


@dataclass
class Prepared:
    argv: list[str]
    cwd: str | None
    preexec_fn: Callable[[], None] | None
    uid: int | None = None
    #: Sandboxed: (server env) -> (argv to spawn, its env); the env travels inside the sandbox.
    wrap: Callable[[dict[str, str]], tuple[list[str], dict[str, str]]] | None = None
    pass_fds: tuple[int, ...] = ()
    #: Sandboxed: the spawned bwrap -> the server's own process (harness.system.bwrap.SandboxedProcess).
    adopt: Callable[[Any], Any] | None = None
    #: Undo what prepare() opened, if the spawn failed.
    abandon: Callable[[], None] | None = None


@dataclass
class Sandbox:
    limits: Limits = field(default_factory=Limits)
    scratch: bool = True
    drop_root: bool = True
    #: The scratch-copy note is said by the controller (harness.plugin.confinement), not per process.
    quiet: bool = False
    #: Run each instance under bubblewrap where it works (harness.system.bwrap); else the fallback.
    use_bwrap: bool = True
    #: A memory cgroup per instance where one can be made (harness.system.memcg).
    use_memcg: bool = True
    notes: list[str] = field(default_factory=list)
    _plans: dict[str, scratch.CopyPlan] = field(default_factory=dict)
    _uids: dict[str, int] = field(default_factory=dict)
    _cgroups: dict[str, memcg.MemoryCgroup] = field(default_factory=dict)
    #: A cpu cgroup per instance where one is needed and can be made (harness.system.cpucg).
    _cpu_groups: dict[str, memcg.Cgroup] = field(default_factory=dict)

    def prepare(self, workdir: Path, argv: list[str], cwd: str | None) -> Prepared:
        base = Path(cwd) if cwd else Path.cwd()
        as_root = self.drop_root and os.geteuid() == 0
        uid = pick_uid() if as_root and has_capabilities(CAP_SETUID, CAP_SETGID) else None
        if uid is not None:
            self._uids[str(workdir)] = uid
        elif as_root:
            self._note(NO_UID)
        run_cwd: str | None = cwd
        source, first = scratch.submission_folder(argv, base)
        refusal = scratch.leaves_folder(first, base)
        if refusal:
            self._uids.pop(str(workdir), None)
            raise ServerStartError(refusal)
        if self.scratch:
            plan = self._plans.get(str(source))
            if plan is None:
                plan = self._plans[str(source)] = scratch.plan(source, first)
                if plan.truncated:
                    self._note(f"note: {plan.truncated}", loud=not self.quiet)  # also said by the controller
            if plan.refused:
                self._uids.pop(str(workdir), None)
                raise ServerStartError(plan.refused)
            copy = workdir / "submission"
            scratch.materialize(plan, copy, (uid, uid) if uid is not None else None)
            argv = scratch.rewrite_argv(argv, base, source, copy)
            run_cwd = str(copy)
        argv = standard_library_first(argv)  # a .py server: its own socket.py must not shadow the real one
        tasks = 0 if uid is not None else tasks_counted_with_the_server()
        if self.sandboxed() and uid is None:  # not root: bwrap and the sandbox's init run as the user too
            tasks += 2
        table = limits_module.clamp(limits_module.rlimits(self.limits, tasks))
        set_limits = self._in_cgroups(workdir, limits_module.setter(table))
        if uid is not None:
            _open_path_for_others(workdir)
        if self.sandboxed() and self.scratch:
            return self._in_bwrap(workdir, argv, run_cwd, set_limits, uid)
        if uid is None:
            return Prepared(argv, run_cwd, set_limits)
        set_limits = sysvipc.in_own_namespace(set_limits)
        if reachable_by_others(argv[0], uid):
            return Prepared(argv, run_cwd, _then_drop(set_limits, uid), uid)
        setpriv = shutil.which("setpriv")
        if setpriv is None or not has_capabilities(CAP_DAC_READ_SEARCH):
            self._note(no_reach(argv[0]))
            self._uids.pop(str(workdir), None)
            return Prepared(argv, run_cwd, set_limits)
        wrapper = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                   "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", *_pdeathsig(setpriv), "--"]
        return Prepared(wrapper + argv, run_cwd, set_limits, uid)

    def _in_cgroups(self, workdir: Path, set_limits: Callable[[], None]) -> Callable[[], None]:
        """`set_limits`, after joining a new cpu cgroup and a new memory cgroup for this instance (where
        they can be made: harness.system.cpucg, harness.system.memcg)."""
        if not self.use_memcg:
            return set_limits
        memory = memcg.create(self.limits.memory_mib) if self.limits.memory_mib else None
        joins = [join for join in (_keep(self._cpu_groups, workdir, cpucg.create()),
                                   _keep(self._cgroups, workdir, memory)) if join is not None]
        if not joins:
            return set_limits

        def preexec() -> None:
            for join in joins:
                join()
            set_limits()

        return preexec

    def sandboxed(self) -> bool:
        """Do servers run under bubblewrap here?"""
        return self.use_bwrap and bwrap.unavailable_reason() is None

    def _in_bwrap(self, workdir: Path, argv: list[str], cwd: str | None, set_limits: Callable[[], None],
                  uid: int | None) -> Prepared:
        """The instance under bubblewrap: bwrap runs with the limits set, its init drops to `uid`."""
        executable = bwrap.executable()
        assert executable is not None
        read_end, write_end = os.pipe()
        env_fd = bwrap.unnamed_file()
        copy = Path(cwd) if cwd else None

        def wrap(env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
            bwrap.write_environment(env_fd, env)  # the server's env reaches the init as a file, never in argv
            argv_ = bwrap.command(executable, workdir, copy, argv, uid, self.limits.memory_mib)
            return argv_, {"PATH": env.get("PATH", "/usr/bin:/bin")}

        def adopt(outer: Any) -> Any:
            close_all(write_end, env_fd)
            return bwrap.SandboxedProcess(outer, read_end)

        def abandon() -> None:
            close_all(read_end, write_end, env_fd)

        return Prepared(argv, cwd, set_limits, uid, wrap=wrap, pass_fds=(write_end, env_fd), adopt=adopt,
                        abandon=abandon)

    def cgroup_members(self, workdir: Path) -> list[int] | None:
        """The processes in the instance's cgroups (zombies included), or None where it has none. The
        kernel's list: a process that forks its successor and exits at once is never missing from it."""
        groups = [group for group in (self._cgroups.get(str(workdir)), self._cpu_groups.get(str(workdir)))
                  if group is not None]
        if not groups:
            return None
        return sorted({pid for group in groups for pid in group.pids()})

    def uid_for(self, workdir: Path) -> int | None:
        """The unprivileged uid the server of `workdir` runs as, if it was dropped to one."""
        return self._uids.get(str(workdir))

    def explain(self, returncode: int | None, output_tail: str, workdir: Path | None = None) -> str | None:
        cgroup = self._cgroups.get(str(workdir)) if workdir is not None else None
        oom_killed = cgroup is not None and cgroup.oom_kills() > 0
        return limits_module.explain(returncode, output_tail, self.limits, oom_killed)

    def release(self, workdir: Path) -> None:
        """After stop(): kill whatever still runs as this instance's own uid (a daemon that
        left the tree and cleared its environment cannot leave that), then drop the copy."""
        uid = self._uids.pop(str(workdir), None)
        if uid is not None:
            kill_user(uid)
            remove_temporaries_of(uid)
            sysvipc.remove_objects_of(uid)
        cgroup = self._cgroups.get(str(workdir))
        if cgroup is not None:
            cgroup.remove()  # kept: its OOM count still explains the exit
        cpu_group = self._cpu_groups.pop(str(workdir), None)
        if cpu_group is not None:
            cpu_group.remove()
        scratch.remove(workdir / "submission")

    def preflight(self, argv: list[str]) -> list[str]:
        """What this sandbox cannot do here, said once before any server starts
        (during a check, output is captured and a note would be lost)."""
        if self.use_bwrap and bwrap.unavailable_reason() is not None:
            notes = [f"no sandbox: {bwrap.unavailable_reason()}; servers run in the fallback (limits, "
                     "scratch copy, own uid as root) - `harness doctor` says what is missing"]
        else:
            notes = []
        if not (self.drop_root and os.geteuid() == 0):
            return notes
        if self.sandboxed():  # bwrap reaches the interpreter: only the uid switch matters
            ok = has_capabilities(CAP_SETUID, CAP_SETGID) and pick_uid() is not None
            return notes if ok else [*notes, NO_UID]
        if not has_capabilities(CAP_SETUID, CAP_SETGID) or pick_uid() is None:
            return [*notes, NO_UID]
        if argv and not reachable_by_others(argv[0]) and (
                shutil.which("setpriv") is None or not has_capabilities(CAP_DAC_READ_SEARCH)):
            return [*notes, no_reach(argv[0])]
        return notes

    def _note(self, text: str, loud: bool = False) -> None:
        """Keep a note (`loud`: print it too; most are said by `preflight` already)."""
        if text not in self.notes:
            self.notes.append(text)
            if loud:
                print(safe_text(text), file=sys.stderr, flush=True)


NO_UID = ("no unprivileged uid can be used here (none mapped, or no CAP_SETUID/CAP_SETGID): "
          "the server runs as root (no process limit)")


def close_all(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def no_reach(program: str) -> str:
    return (f"{program} is not reachable for an unprivileged user, and setpriv(1) or CAP_DAC_READ_SEARCH "
            "is missing: the server runs as root (no process limit)")


def has_capabilities(*capabilities: int) -> bool:
    """Does this process hold these capabilities (effective set)? Containers often drop some."""
    try:
        with open("/proc/self/status") as f:
            line = next(line for line in f if line.startswith("CapEff:"))
    except (OSError, StopIteration):
        return True  # no /proc: not Linux, setuid will say for itself
    effective = int(line.split()[1], 16)
    return all(effective >> cap & 1 for cap in capabilities)


def tasks_counted_with_the_server() -> int:
    """Tasks that already count against the server's RLIMIT_NPROC (same user, same user namespace).

    In the user namespace `harness.system.isolation` created, only tasks started in it
    count: this process's threads (and any other live server of this process,
    not counted here). Otherwise every task of the user counts.
    """
    if isolation.inside() and os.getuid() != 0:
        return threading.active_count() + 1
    return processes.threads_of_user(os.getuid())


def kill_user(uid: int, rounds: int = 20) -> None:
    """SIGKILL every process of `uid` (only ever a fresh uid of ours), rescanning for forks meanwhile."""
    for _ in range(rounds):  # bounded: each round kills what it finds, a fork bomb runs out
        pids = processes.pids_of_user(uid)
        if not pids:
            return
        processes.kill(pids)
        processes.reap(pids)


#: Shared folders every user may write (sticky, mode 1777) where a fallback server's files outlive it
#: (bubblewrap gives private ones, and the rest of the system read-only). /var/lock is a link to /run/lock.
SHARED_TEMPORARIES = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/crash", "/dev/mqueue")


def remove_temporaries_of(uid: int) -> None:
    """Remove what `uid` (a fresh uid of ours, now without processes) left in the shared temporary folders."""
    for folder in SHARED_TEMPORARIES:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid == uid:
                    remove_tree(entry.path)
            except OSError:
                continue


def _then_drop(set_limits: Callable[[], None], uid: int) -> Callable[[], None]:
    def preexec() -> None:
        set_limits()
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

    return preexec


@functools.lru_cache(maxsize=None)
def _pdeathsig(setpriv: str) -> tuple[str, ...]:
    """setpriv's own --pdeathsig (util-linux 2.33+): its uid switch clears the one set before it."""
    try:
        usage = subprocess.run([setpriv, "--help"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return ("--pdeathsig=KILL",) if "--pdeathsig" in usage else ()


def pick_uid(rng: random.Random | None = None) -> int | None:
    """A random uid that this system maps and that has no account (so no files, no processes)."""
    import pwd

    rng = rng or random.Random()
    for low, high in (SANDBOX_UIDS, FALLBACK_UIDS):
        window = _mapped_window(low, high)
        if window is None:
            continue
        for _ in range(50):
            uid = rng.randrange(*window)
            try:
                pwd.getpwuid(uid)
            except KeyError:
                return uid
    return None


def _mapped_window(low: int, high: int) -> tuple[int, int] | None:
    """The part of [low, high) that this process's user namespace maps."""
    try:
        lines = Path("/proc/self/uid_map").read_text().splitlines()
    except OSError:
        return (low, high)
    for line in lines:
        inside, _, count = (int(x) for x in line.split())
        start, end = max(low, inside), min(high, inside + count)
        if end - start > 100:
            return (start, end)
    return None


def _keep(groups: dict[str, Any], workdir: Path, group: memcg.Cgroup | None) -> Callable[[], None] | None:
    """Keep `group` as the instance's (the one it replaces removed); the preexec function that joins it."""
    if group is None:
        return None
    old = groups.pop(str(workdir), None)
    if old is not None:
        old.remove()
    groups[str(workdir)] = group
    return group.join()


def _open_path_for_others(workdir: Path) -> None:
    """Let the server's uid traverse (not list) the harness's private temp folders to its copy."""
    for folder in (workdir.parent, workdir):
        try:
            mode = os.stat(folder).st_mode
            os.chmod(folder, stat.S_IMODE(mode) | stat.S_IXOTH)
        except OSError:
            continue

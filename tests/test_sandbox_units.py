"""Pure pieces of the sandbox: the bounded scratch copy, limit explanations,
uid choice, reachability, the watchdog engine. No harness subprocess here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness.plugin.watchdog import Watchdog
from harness.system import isolation, limits, memcg, sandbox, scratch
from harness.system.limits import Limits


def make_tree(root: Path, files: int, size: int = 10) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (root / f"f{i:03}.txt").write_bytes(b"x" * size)


def test_scratch_copy_keeps_the_server_file_first_and_stops_at_the_file_bound(tmp_path):
    make_tree(tmp_path / "src", 30)
    (tmp_path / "src" / "zz_server.py").write_text("print('hi')\n")
    plan = scratch.plan(tmp_path / "src", tmp_path / "src" / "zz_server.py", max_files=10)
    assert plan.files[0] == "zz_server.py"
    assert len(plan.files) == 10
    assert plan.truncated and "10 files" in plan.truncated


def test_scratch_copy_stops_at_the_byte_bound(tmp_path):
    make_tree(tmp_path / "src", 5, size=1000)
    plan = scratch.plan(tmp_path / "src", None, max_bytes=2500)
    assert len(plan.files) == 2 and plan.truncated


def test_scratch_copy_skips_vcs_and_virtualenv_folders_and_copies_subfolders(tmp_path):
    source = tmp_path / "src"
    make_tree(source / ".git", 5)
    make_tree(source / "node_modules" / "x", 5)
    make_tree(source / "data", 2)
    (source / "server.py").write_text("")
    os.symlink("/etc/hostname", source / "link")
    plan = scratch.plan(source, source / "server.py")
    assert sorted(plan.files) == ["data/f000.txt", "data/f001.txt", "server.py"]
    assert plan.links == ["link"] and plan.truncated is None
    copy = tmp_path / "copy"
    scratch.materialize(plan, copy)
    assert (copy / "data" / "f001.txt").read_bytes() == b"x" * 10
    assert os.readlink(copy / "link") == "/etc/hostname"
    assert not (copy / ".git").exists()


def test_scratch_copy_of_a_big_folder_is_bounded(tmp_path):
    make_tree(tmp_path / "big", scratch.MAX_FILES + 50, size=1)
    plan = scratch.plan(tmp_path / "big", None)
    assert len(plan.files) == scratch.MAX_FILES and plan.truncated


def test_submission_folder_is_the_server_file_folder_and_arguments_follow_the_copy(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "server.py").write_text("")
    argv = [sys.executable, "-u", "sub/server.py", "{port}"]
    source, first = scratch.submission_folder(argv, tmp_path)
    assert source == tmp_path / "sub" and first == tmp_path / "sub" / "server.py"
    copy = tmp_path / "copy"
    scratch.materialize(scratch.plan(source, first), copy)
    assert scratch.rewrite_argv(argv, tmp_path, source, copy) == [sys.executable, "-u", str(copy / "server.py"), "{port}"]


def test_submission_folder_without_a_file_argument_is_the_working_directory(tmp_path):
    (tmp_path / "x.py").write_text("")
    assert scratch.submission_folder(["sh", "-c", "exec python3 x.py"], tmp_path) == (tmp_path, None)


def test_a_command_that_names_nothing_of_its_folder_gets_nothing_copied(tmp_path):
    (tmp_path / "unrelated.txt").write_text("")
    argv = ["ncat", "-l", "{port}", "-k", "-e", "/bin/cat"]
    assert scratch.submission_folder(argv, tmp_path) == (None, None)
    assert scratch.plan(None).files == [] and scratch.plan(None).truncated is None
    assert scratch.rewrite_argv(argv, tmp_path, None, tmp_path / "copy") == argv
    (tmp_path / "package.json").write_text("{}")  # a project: `npm start` runs from it
    assert scratch.submission_folder(["npm", "start"], tmp_path) == (tmp_path, None)


def test_submission_folder_ignores_system_programs(tmp_path):
    source, first = scratch.submission_folder(["/bin/sh", "-c", "true"], tmp_path)
    assert first is None


@pytest.mark.parametrize(
    ("code", "tail", "expected"),
    [
        (-signal.SIGXCPU, "", "--cpu-limit 7 s"),
        (-signal.SIGXFSZ, "", "--file-size-limit 3 MiB"),
        (1, "Traceback...\nMemoryError\n", "--memory-limit 100 MiB"),
        (1, "OSError: [Errno 24] Too many open files", "--files-limit 50"),
        (1, "BlockingIOError: [Errno 11] Resource temporarily unavailable", "--process-limit 9"),
        (1, "OSError: [Errno 27] File too large", "--file-size-limit 3"),
        (1, "RuntimeError: can't start new thread", "--memory-limit 100 MiB) or the process limit (--process-limit 9"),
    ],
)
def test_explain_names_the_limit_and_its_value(code, tail, expected):
    given = Limits(cpu_s=7, memory_mib=100, open_files=50, processes=9, file_size_mib=3)
    assert expected in (limits.explain(code, tail, given) or "")


def test_explain_blames_no_limit_for_an_ordinary_exit():
    assert limits.explain(0, "MemoryError", Limits()) is None
    assert limits.explain(1, "ValueError: bad", Limits()) is None
    assert limits.explain(-signal.SIGKILL, "", Limits()) is None
    assert limits.explain(1, "MemoryError", Limits(memory_mib=None)) is None


def test_rlimits_turn_off_core_dumps_and_add_the_users_tasks_to_the_process_limit():
    table = {res: (soft, hard) for res, soft, hard in limits.rlimits(Limits(processes=10, cpu_s=5), tasks_already=7)}
    import resource

    assert table[resource.RLIMIT_CORE] == (0, 0)
    assert table[resource.RLIMIT_NPROC] == (17, 17)
    assert table[resource.RLIMIT_CPU] == (5, 7)


def test_pick_uid_chooses_an_unused_mapped_uid():
    import pwd

    uid = sandbox.pick_uid()
    assert uid is not None and uid > 0
    with pytest.raises(KeyError):
        pwd.getpwuid(uid)


def test_reachable_by_others_sees_a_private_folder():
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="harness-reach-", dir="/tmp"))  # /tmp: traversable by all
    try:
        os.chmod(base, 0o755)
        private = base / "private"
        private.mkdir()
        program = private / "server"
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
        os.chmod(private, 0o700)
        assert not sandbox.reachable_by_others(str(program))
        os.chmod(private, 0o755)
        assert sandbox.reachable_by_others(str(program))
        program.chmod(0o700)
        assert not sandbox.reachable_by_others(str(program))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_watchdog_fires_once_after_the_limit_without_progress():
    now = [0.0]
    fired: list[str] = []
    done = threading.Event()

    def stuck(where: str) -> None:
        fired.append(where)
        done.set()

    dog = Watchdog(2.0, stuck, clock=lambda: now[0])
    dog.progress("in check echo::x")
    dog.start()
    now[0] = 1.5
    assert not done.wait(0.6)
    now[0] = 5.0
    assert done.wait(10)
    assert fired == ["in check echo::x"]
    dog.stop()


def test_interfaces_reads_proc_net_dev():
    assert "lo" in isolation.interfaces()


def test_scratch_copy_leaves_out_other_users_files(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    source = tmp_path / "shared"
    make_tree(source, 3)
    (source / "server.py").write_text("")
    os.chown(source / "f001.txt", 12345, 12345)
    plan = scratch.plan(source, source / "server.py")
    assert sorted(plan.files) == ["f000.txt", "f002.txt", "server.py"]


def test_a_sigkill_from_the_memory_cgroups_oom_killer_is_the_memory_limit():
    given = Limits(memory_mib=256)
    assert "killed at the memory limit (--memory-limit 256 MiB" in (
        limits.explain(-signal.SIGKILL, "", given, oom_killed=True) or "")
    assert limits.explain(-signal.SIGKILL, "", given, oom_killed=False) is None  # a SIGKILL alone proves nothing
    assert limits.explain(1, "", given, oom_killed=True) is None  # an exit of its own is not the OOM killer's


@pytest.mark.parametrize(("mountpoint", "root", "path", "expected"), [
    ("/sys/fs/cgroup/memory", "/", "/process_api/abc", "/sys/fs/cgroup/memory/process_api/abc"),
    ("/sys/fs/cgroup", "/", "/", "/sys/fs/cgroup"),
    ("/sys/fs/cgroup", "/docker/x", "/docker/x", "/sys/fs/cgroup"),  # a container sees its own cgroup as the root
    ("/sys/fs/cgroup", "/docker/x", "/docker/x/sub", "/sys/fs/cgroup/sub"),
    ("/sys/fs/cgroup", "/docker/x", "/other", None),
])
def test_the_harnesss_own_cgroup_folder_is_found_below_its_mount(mountpoint, root, path, expected):
    assert memcg._below(mountpoint, root, path) == expected


@pytest.mark.skipif(memcg.unavailable_reason() is not None, reason=f"no memory cgroup: {memcg.unavailable_reason()}")
def test_a_memory_cgroup_is_limited_joined_and_removed():
    cgroup = memcg.create(64)
    assert cgroup is not None and cgroup.path.is_dir()
    limit = "memory.max" if cgroup.version == 2 else "memory.limit_in_bytes"
    assert int((cgroup.path / limit).read_text()) == 64 * memcg.MIB
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], preexec_fn=cgroup.join())
    try:
        assert cgroup.pids() == [child.pid]
        assert cgroup.remove()  # kills what is left in it
        assert not cgroup.path.exists() and cgroup.removed
        assert child.wait(timeout=5) == -signal.SIGKILL
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(memcg.unavailable_reason() is not None, reason=f"no memory cgroup: {memcg.unavailable_reason()}")
def test_a_memory_cgroup_left_by_a_killed_harness_is_removed_by_the_next():
    folder, _ = memcg.own_memory_folder()
    dead = 2 ** 22 + 12345  # above pid_max's default: no such process
    stale = folder / f"{memcg.PREFIX}{dead}-0"
    stale.mkdir()
    try:
        cgroup = memcg.create(64)
        assert cgroup is not None and not stale.exists()
        assert cgroup.remove()
    finally:
        if stale.exists():
            stale.rmdir()


def test_commands_that_name_their_folder_or_a_file_in_it_without_its_ending_get_it_copied(tmp_path):
    """Blind 17: `java -cp . EchoServer`, `java EchoServer` and `python3 -m pkg.main` started in an empty
    folder (nothing named a file of the current directory) and could not find their class or module."""
    (tmp_path / "EchoServer.class").write_bytes(b"\xca\xfe\xba\xbe")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "main.py").write_text("")
    for argv in (["java", "-cp", ".", "Other"], ["java", "EchoServer", "{port}"], ["python3", "-m", "pkg.main"],
                 ["java", "-cp", "./lib:.", "Other"]):
        assert scratch.submission_folder(argv, tmp_path) == (tmp_path, None), argv
    assert scratch.submission_folder(["python3", "-m", "http.server", "{port}"], tmp_path) == (None, None)


def test_a_server_file_in_a_projects_subfolder_gets_the_whole_project_copied_its_folder_first(tmp_path):
    """Blind 17: `node src/server.js` from a project's top read ../config.json, which was not copied."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "server.js").write_text("require('../config.json')")
    (tmp_path / "src" / "util.js").write_text("")
    (tmp_path / "config.json").write_text("{}")
    argv = ["node", "src/server.js", "{port}"]
    assert scratch.submission_folder(argv, tmp_path) == (tmp_path / "src", tmp_path / "src" / "server.js")
    (tmp_path / "package.json").write_text("{}")
    source, first = scratch.submission_folder(argv, tmp_path)
    assert (source, first) == (tmp_path, tmp_path / "src" / "server.js")
    plan = scratch.plan(source, first)
    assert plan.files[:2] == ["src/server.js", "src/util.js"] and "config.json" in plan.files, plan.files
    copy = tmp_path.parent / f"{tmp_path.name}-copy"
    scratch.materialize(plan, copy)
    assert (copy / "config.json").exists() and (copy / "src" / "server.js").exists()
    assert scratch.rewrite_argv(argv, tmp_path, source, copy) == ["node", str(copy / "src" / "server.js"), "{port}"]

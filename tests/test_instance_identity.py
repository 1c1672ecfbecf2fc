"""A server cannot tell which check is running (SPEC §5.1), and a killed run
leaves no scratch folder forever (SPEC §5.4).

The first part runs a nosy server over several checks that each start a fresh
instance, in each mode this machine offers (sandboxed, `--no-bwrap`; the CI's
fallback pass runs this file too): everything it reads of its identity
(environment, argv, cwd, /proc/1/cmdline, /proc/self/cmdline, its cgroup, its
mounts) must carry no counter and no check name — instances differ only by
random values (port, token, folder name, uid).

The second part plants `harness-run-*` folders in a temporary folder of its
own: the stale one of a dead harness goes, a live one, a link and a folder
that is not ours stay, and nothing is followed out of them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import FALLBACK, TEST_REPLY_TIMEOUT, reference, server

from harness.system import bwrap, processes, run_folders

SANDBOX_MISSING = "HARNESS_TEST_NO_BWRAP asks for the fallback" if FALLBACK else bwrap.unavailable_reason()
MODES = pytest.mark.parametrize("mode", [
    pytest.param("sandboxed", marks=pytest.mark.skipif(SANDBOX_MISSING is not None, reason=f"{SANDBOX_MISSING}")),
    "fallback",
])
#: The shared instance and four fresh ones (each shutdown check starts its own).
CHECKS = ("single_message", "sigint_idle", "sigterm_idle", "sigint_with_clients", "sigterm_with_clients")
RANDOM_FOLDER = re.compile(r"server-[0-9a-f]{8}")


def identities(run) -> dict[str, dict]:
    """Check id -> what the instance it used printed (the nosy server fails every check, so each shows its output)."""
    seen = {}
    for check in run.report["checks"]:
        lines = [line for line in (check.get("server_output") or "").splitlines() if line.startswith("IDENTITY ")]
        if lines:
            seen[check["id"]] = json.loads(lines[-1][len("IDENTITY "):])
    return seen


def without_random_values(identity: dict) -> str:
    """The identity with the values drawn at random per instance replaced, and the pipes' inodes left out."""
    folder = Path(identity["cwd"]).parent.name
    kept = {key: value for key, value in identity.items() if key not in ("stdout", "stderr", "cgroup")}
    text = json.dumps(kept, sort_keys=True)
    for value, name in ((folder, "FOLDER"), (identity["env"].get("HARNESS_SERVER_TOKEN", "-"), "TOKEN"),
                        (identity["env"]["PORT"], "PORT"), (str(identity["uid"]), "UID")):
        text = text.replace(value, name)
    return text


@MODES
def test_a_server_cannot_tell_which_check_started_it(harness, mode):
    run = harness(*(("--no-bwrap",) if mode == "fallback" else ()), "-k", " or ".join(CHECKS),
                  "--reply-timeout", TEST_REPLY_TIMEOUT, "--startup-timeout", "10",
                  server("hostile_reports_identity.py"), "{port}")
    seen = identities(run)
    assert len(seen) == len(CHECKS), (sorted(seen), run.stdout)
    folders = {Path(identity["cwd"]).parent.name for identity in seen.values()}
    assert len(folders) == len(CHECKS), folders  # one instance per check: the shared one and four fresh
    for check_id, identity in seen.items():
        # Without a PID namespace the harness's own command line (the parent's) is world-readable
        # in /proc, with the run's `-k`: the same for every instance, so it tells no check from
        # another (the equality below) — but it names the selection (README, fallback).
        shown = {k: v for k, v in identity.items() if not (mode == "fallback" and k == "parent_cmdline")}
        text = json.dumps(shown)
        for word in (*CHECKS, "shutdown", "echo::", "PYTEST"):
            assert word not in text, (check_id, word)
        for name in re.findall(r"server-[^/\s\"\\]*", text):  # the instance folder: random, never a counter
            assert RANDOM_FOLDER.fullmatch(name), (check_id, name)
        for name in re.findall(r"harness-[0-9]+-[^/\s\"\\]*", identity["cgroup"]):  # its memory cgroup
            assert re.fullmatch(r"harness-[0-9]+-[0-9a-f]{8}", name), (check_id, name)
        names = set(identity["env"])
        assert not any(arg.partition("=")[0] in names for arg in identity["pid1_cmdline"]), identity["pid1_cmdline"]
        assert names <= {"PATH", "HOME", "LANG", "PORT", "HOST", "PYTHONUNBUFFERED", "HARNESS_SERVER_TOKEN",
                         "HARNESS_RUN_ID", "HARNESS_TEST_RUN", "LC_CTYPE"}, names
    # Beyond its random values, every instance sees exactly the same things.
    different = {without_random_values(identity) for identity in seen.values()}
    assert len(different) == 1, "\n".join(different)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def plant(base: Path, name: str, owner: str | None) -> Path:
    folder = base / name
    (folder / "server-00000000" / "submission").mkdir(parents=True)
    (folder / "server-00000000" / "submission" / "server.py").write_text("print('copy')\n")
    if owner is not None:
        (folder / run_folders.OWNER).write_text(owner)
    return folder


@pytest.fixture
def base(harness_temporaries) -> Path:
    """A temporary folder of this test's (reachable by a server's own uid, like /tmp)."""
    folder = Path(tempfile.mkdtemp(dir=harness_temporaries))
    folder.chmod(0o711)
    return folder


def test_only_stale_run_folders_of_ours_are_removed_and_no_link_is_followed(base, tmp_path):
    victim = tmp_path / "victim"
    plant(tmp_path, "victim", f"{dead_pid()} 1\n")  # looks stale: would go if a link to it were followed
    (victim / "keep.txt").write_text("KEEP\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("OUTSIDE\n")
    stale = plant(base, "harness-run-stale", f"{dead_pid()} 1\n")
    (stale / "server-00000000" / "link-out").symlink_to(outside)
    (stale / "server-00000000" / "folder-out").symlink_to(victim)
    reused = plant(base, "harness-run-reused", f"1 {(processes.start_time(1) or 0) + 1}\n")  # pid 1 now is another process
    live = plant(base, "harness-run-live", f"{os.getpid()} {processes.start_time(os.getpid())}\n")
    unmarked = plant(base, "harness-run-unmarked", None)
    (base / "harness-run-link").symlink_to(victim)
    marker_link = plant(base, "harness-run-marker-link", None)
    (marker_link / run_folders.OWNER).symlink_to(victim / run_folders.OWNER)
    removed = run_folders.remove_stale(str(base))
    assert sorted(removed) == ["harness-run-reused", "harness-run-stale"]
    assert not stale.exists() and live.is_dir() and unmarked.is_dir() and marker_link.is_dir()
    assert (base / "harness-run-link").is_symlink() and (victim / "keep.txt").read_text() == "KEEP\n"
    assert outside.read_text() == "OUTSIDE\n" and not reused.exists()


class ExpiresAfter:
    """A deadline that passes after it was asked `calls` times (a removal cut short where the test wants)."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def expired(self) -> bool:
        self.calls -= 1
        return self.calls < 0


def test_a_removal_cut_short_leaves_a_dead_folder_that_the_next_removal_finishes(base, tmp_path):
    """A blind tester's server filled its copy with 40,000 folders; the removal, cut short, had taken the `owner`
    file first, and nothing ever removed the rest. Now a stale folder is renamed dead before its removal."""
    stale = plant(base, "harness-run-filled", f"{dead_pid()} 1\n")
    for number in range(3000):
        (stale / "server-00000000" / "cache" / f"d{number:04}" / "x").mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("KEEP\n")
    (base / "harness-dead-link").symlink_to(victim)
    assert run_folders.remove_stale(str(base), ExpiresAfter(2)) == []  # cut short in the middle of the removal
    left = sorted(entry.name for entry in base.iterdir())
    assert not stale.exists() and any(name.startswith("harness-dead-") and name != "harness-dead-link"
                                       for name in left), left
    assert len(run_folders.remove_stale(str(base))) == 1  # the dead folder, whatever it still holds
    assert sorted(entry.name for entry in base.iterdir()) == ["harness-dead-link"]
    assert (victim / "keep.txt").read_text() == "KEEP\n"  # a dead-named link is not followed


def test_a_run_folder_is_renamed_dead_before_it_is_removed(base):
    folder = plant(base, "harness-run-mine", f"{os.getpid()} {processes.start_time(os.getpid())}\n")
    renamed: list[str] = []
    real_rename = os.rename

    def rename(src, dst, **kwargs):
        renamed.append(dst)
        return real_rename(src, dst, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_folders.os, "rename", rename)
        run_folders.remove_run_folder(folder)
    assert not folder.exists() and list(base.iterdir()) == []
    assert len(renamed) == 1 and renamed[0].startswith(run_folders.DEAD_PREFIX)


@pytest.mark.skipif(os.geteuid() != 0, reason="a folder of another user can be planted only as root")
def test_a_run_folder_of_another_user_is_never_removed(base):
    foreign = plant(base, "harness-run-foreign", f"{dead_pid()} 1\n")
    for path in (foreign, *foreign.rglob("*")):
        os.chown(path, 65534, 65534, follow_symlinks=False)
    assert run_folders.remove_stale(str(base)) == []
    assert (foreign / "server-00000000" / "submission" / "server.py").exists()


def test_a_run_removes_the_folder_a_killed_run_left_behind(harness, base):
    """The stale folder is what a `harness run` killed with SIGKILL leaves: an owner that no longer lives."""
    stale = plant(base, "harness-run-killed", f"{dead_pid()} 1\n")
    (base / "harness-run-link").symlink_to(stale.parent.parent)
    run = harness("-k", "single_message", "--reply-timeout", TEST_REPLY_TIMEOUT, reference("tcp_echo.py"),
                  "{port}", env={"TMPDIR": str(base)})
    assert run.returncode == 0, run.stdout + run.stderr
    assert not stale.exists()
    assert (base / "harness-run-link").is_symlink()
    assert not [p.name for p in base.iterdir() if p.name.startswith("harness-run-") and not p.is_symlink()]

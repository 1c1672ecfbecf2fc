"""`harness protocol check` notes values a protocol file may hold but an instructor rarely means (SPEC §6 leaves
them legal): waits of a minute or more, probably written in milliseconds, and \\u0080-\\u00ff escapes in utf-8 text
steps, which are two bytes each. Both ways: a file without them gets no note."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.protocolfile.doubts import doubts
from harness.protocolfile.loader import load_protocol_file

HEAD = 'name = "bytes"\ntransport = "tcp"\nframing = "line"\n'
TRAPS = HEAD + 'reply-timeout = 500\n[[conversation]]\nname = "ff"\nsteps = [{ send = "X\\u00ff" }, ' \
               '{ expect = "Y\\u00ff", timeout = 2000 }, { expect-nothing = 300 }]\n'
#: The same conversation as meant: seconds, a typed é (utf-8 on purpose), single bytes in hex.
MEANT = HEAD + 'reply-timeout = 0.5\n[[conversation]]\nname = "ff"\nsteps = [{ send = "café" }, ' \
               '{ send-hex = "58 ff" }, { expect-hex = "59 ff", timeout = 2 }, { expect-nothing = 0.3 }]\n'


def doubts_of(tmp_path: Path, text: str, name: str = "proto.toml") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return doubts(load_protocol_file(path), text)


def test_waits_of_minutes_and_byte_like_escapes_are_noted(tmp_path):
    found = doubts_of(tmp_path, TRAPS)
    assert found[:3] == [
        "key 'reply-timeout' = 500 is in seconds (8.3 minutes): if you meant milliseconds, write 0.5",
        "conversation 'ff', step 2: 'timeout' = 2000 is in seconds (33.3 minutes): if you meant milliseconds, "
        "write 2",
        "conversation 'ff', step 3: 'expect-nothing' = 300 is in seconds (5.0 minutes): if you meant "
        "milliseconds, write 0.3"]
    assert found[3].startswith("pipelining = true, but no conversation has a client send twice before it waits, so "
                               "no framing::NAME.coalesced check is derived")
    assert "\\u00ff in text steps are sent and expected as utf-8: \\u00ff is the two bytes c3 bf, not the byte ff" \
        in found[4]
    assert len(found) == 5


def test_the_file_as_meant_gets_no_note(tmp_path):
    assert doubts_of(tmp_path, MEANT) == []


def test_nothing_to_coalesce_is_noted_only_with_pipelining(tmp_path):
    assert not any("pipelining" in doubt for doubt in doubts_of(tmp_path, TRAPS.replace(HEAD, HEAD + "pipelining = false\n")))


def test_an_escape_in_a_latin1_file_is_one_byte_as_written(tmp_path):
    assert doubts_of(tmp_path, TRAPS.replace("reply-timeout = 500", 'encoding = "latin-1"')
                     .replace("2000", "2").replace("300", "0.3")
                     .replace("\n[[conversation]]", "\npipelining = false\n[[conversation]]")) == []


def test_protocol_check_prints_the_notes_and_still_accepts_the_file(tmp_path):
    path = tmp_path / "proto.toml"
    path.write_text(TRAPS, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "harness", "protocol", "check", str(path)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "! key 'reply-timeout' = 500 is in seconds" in done.stdout
    assert "! \\u00ff in text steps" in done.stdout


def test_a_reference_that_cannot_start_is_said_once_and_leaves_nothing_behind(tmp_path):
    """It was started twice (the reruns, then every derived check: its start-up timeout twice over), and its
    folder with its output was left in TMPDIR."""
    (tmp_path / "crash.py").write_text("import sys\nprint('boom', file=sys.stderr)\nsys.exit(1)\n")
    (tmp_path / "p.toml").write_text(HEAD + '[reference]\ncommand = ["crash.py", "{port}"]\n[[conversation]]\n'
                                     'name = "hi"\nsteps = [{ send = "hi" }, { expect = "hi" }]\n')
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    import os

    done = subprocess.run([sys.executable, "-m", "harness", "protocol", "check", str(tmp_path / "p.toml")],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "TMPDIR": str(scratch)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.count("could not be started") == 1 and "boom" in done.stdout, done.stdout
    assert "no derived check was run" in done.stdout
    assert list(scratch.iterdir()) == [], list(scratch.iterdir())


def test_a_protocol_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    """Windows editors save UTF-8 with a BOM; tomllib then said only "Invalid statement (at line 1, column 1)"."""
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MEANT.encode("utf-8"))
    assert load_protocol_file(path).name == "bytes"
    done = subprocess.run([sys.executable, "-m", "harness", "protocol", "check", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "consistent" in done.stdout, done.stdout + done.stderr

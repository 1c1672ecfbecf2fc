"""`harness grade` with `protocol = "kv.toml"` in the assignment file (SPEC §6):
the protocol file and its reference travel with the assignment (paths relative
to harness.toml, whatever the working directory), every submission is scored
out of the same maximum — also one that does not start or has no server —
and every report names the protocol by the file's `name`."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import ROOT, SERVERS, TEST_REPLY_TIMEOUT
from test_grade import grade, gradebook, make_submissions

KV = ROOT / "examples" / "protocols" / "kv"
ASSIGNMENT = f"""
protocol = "kv.toml"
command = ["server.py", "{{port}}"]
reply-timeout = {TEST_REPLY_TIMEOUT}
[points]
conversation = 60
framing = 30
concurrency = 30
shutdown = 30
"""


@pytest.fixture
def assignment_folder(tmp_path):
    folder = tmp_path / "course" / "kv-assignment"
    folder.mkdir(parents=True)
    for name in ("kv.toml", "kv_server.py"):
        shutil.copy(KV / name, folder / name)
    (folder / "harness.toml").write_text(ASSIGNMENT)
    return folder


def test_a_class_is_graded_against_the_protocol_file_next_to_the_assignment(tmp_path, assignment_folder):
    submissions = make_submissions(tmp_path, {
        "alice_good": SERVERS / "kv_good_threaded.py",
        "bob_wrong_help": SERVERS / "kv_wrong_help.py",
        "carol_crashes": SERVERS / "crashes_at_start.py",
        "dave_nothing": None,
    })
    config = assignment_folder / "harness.toml"
    completed, _ = grade(tmp_path, "-j", "2", "--config", str(config), str(submissions),
                         config='protocol = "tcp-echo"\n')  # a decoy ./harness.toml: --config wins
    assert completed.returncode == 0, completed.stderr
    book = gradebook(tmp_path / "grades" / "gradebook.csv")
    scores = {name: float(row["score"]) for name, row in book.items()}
    # bob fails conversation::unknown_key (1 of 3), its 3 framing variants (of 9) and the crowd (1 of 6).
    assert scores == {"alice_good": 150, "bob_wrong_help": pytest.approx(60 * 2 / 3 + 30 * 6 / 9 + 30 * 5 / 6 + 30, abs=0.5),  # shares in quarter points
                      "carol_crashes": 0, "dave_nothing": 0}
    assert {row["max_score"] for row in book.values()} == {"150"}, "every submission has the same maximum"
    assert book["carol_crashes"]["status"] == "startup error"
    assert book["dave_nothing"]["status"] == "no server"
    assert book["dave_nothing"]["conversation max"] == "60"
    reports = {name: json.loads((tmp_path / "grades" / f"{name}.json").read_text()) for name in book}
    assert {report["protocol"] for report in reports.values()} == {"kv"}
    bob = {c["id"]: c["outcome"] for c in reports["bob_wrong_help"]["checks"]}
    assert {i for i, o in bob.items() if o == "failed"} == {
        "conversation::unknown_key", "framing::unknown_key.coalesced", "framing::unknown_key.bytewise",
        "framing::unknown_key.random", "concurrency::simultaneous_conversations"}
    assert set(reports["dave_nothing"]["score"]["checks"]) == set(bob), "the same checks count for everyone"


def test_checks_and_points_may_name_the_derived_checks(assignment_folder):
    from harness.assignment import load_assignment
    from harness.errors import ConfigError

    config = assignment_folder / "harness.toml"
    config.write_text('protocol = "kv.toml"\nchecks = ["conversation::set_then_get", "framing::*.bytewise"]\n'
                      '[points]\n"conversation::set_then_get" = 5\n')
    assignment = load_assignment(config)
    assert assignment.points == {"conversation::set_then_get": 5}
    assert assignment.selects("framing::shared_store.bytewise") and not assignment.selects("framing::shared_store.random")
    config.write_text('protocol = "kv.toml"\n[points]\n"conversation::set_then_got" = 5\n')
    with pytest.raises(ConfigError) as error:
        load_assignment(config)
    assert "no such check or suite (did you mean 'conversation::set_then_get'?)" in str(error.value)

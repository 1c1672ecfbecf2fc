"""The server's environment: clean and fixed, never the harness's own (SPEC §5).

Rules:
- The server gets `PATH`, `HOME` (its scratch folder), `LANG`, `PORT`, `HOST`,
  `PYTHONUNBUFFERED=1`, and what the assignment names (`ServerSpec.env`).
  Nothing else of the harness's environment reaches it: no grader token, no
  `PYTEST_CURRENT_TEST` (the name of the running check), no `PYTHONPATH`.
- Besides, the harness's *markers* pass through: random ids that say which run
  a process belongs to (the per-instance token, the run id, a graded
  submission's id, a test run's id), so that sweeps by environment find a
  server's processes. They carry no secret and no check name.
"""

from __future__ import annotations

import os
from typing import Mapping

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
#: Harness-made ids a server's processes keep, so sweeps can find them.
MARKERS = ("HARNESS_RUN_ID", "HARNESS_GRADE_SUBMISSION", "HARNESS_TEST_RUN")


def server_environment(port: int, host: str, home: str, assignment_env: Mapping[str, str] | None = None,
                       markers: Mapping[str, str] | None = None,
                       parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment the server starts with."""
    parent = os.environ if parent is None else parent
    env = {
        "PATH": parent.get("PATH") or DEFAULT_PATH,
        "HOME": home,
        "LANG": parent.get("LANG") or "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
    }
    env.update({name: parent[name] for name in MARKERS if name in parent})
    env.update(assignment_env or {})
    env.update({"PORT": str(port), "HOST": host})
    env.update(markers or {})
    return env

"""Where the plugin keeps its state: `pytest.StashKey`s on the config and on items
(the run state's own key is `runstate.STATE`).

Rules: state lives in stashes under these keys, never in private attributes
of pytest's objects; every module of the plugin imports its keys from here.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.server.launcher import ServerProcess
from harness.server.pool import ServerPool
from harness.settings import Settings

#: On the config: the run's validated settings (absent without --server).
SETTINGS = pytest.StashKey[Settings]()
#: On the config: the pool of server instances this process starts.
POOL = pytest.StashKey[ServerPool]()
#: On an item: the server instance its check last talked to (shared or fresh).
SERVER_OF_ITEM = pytest.StashKey[ServerProcess]()
#: On an item: what an informational check recorded through the `inform` fixture.
INFO_OF_ITEM = pytest.StashKey[dict[str, Any]]()
#: The name of a report's user property that carries the check's result record.
PROPERTY = "harness"

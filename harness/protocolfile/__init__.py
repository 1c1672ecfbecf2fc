"""Protocol files (SPEC §6): an instructor's own request/response protocol in TOML.

The harness derives the correctness (`conversation::`), framing, concurrency
and shutdown checks from the file. Modules, by role:

- `model`     — the validated file as plain data (steps, conversations).
- `loader`    — TOML → model, with every "bad file" error of SPEC §6 (exit 2).
- `wire`      — how one message becomes bytes and is read back, per framing.
- `engine`    — runs one conversation over a socket with a segmentation plan.
- `explain`   — how a derived check's failure is told, by what the harness saw.
- `first_exchange` — the first required conversation's bytes, for the protocol-independent checks.
- `derive`    — the derived checks: ids, descriptions, expectations, tiers.
- `reference` — `@reference` answers, recorded once per run from the reference server.
- `steporder` — steps that can never run as written (after a close), unknown placeholders.
- `checkfile` — `harness protocol check FILE`.

Nothing here imports pytest; `suites/test_protocol_file.py` is the thin caller.
"""

from __future__ import annotations

from harness.protocolfile.loader import is_protocol_file, load_protocol_file
from harness.protocolfile.model import Conversation, ProtocolFile, Step

__all__ = ["Conversation", "ProtocolFile", "Step", "is_protocol_file", "load_protocol_file"]

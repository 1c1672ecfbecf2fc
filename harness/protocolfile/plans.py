"""Segmentation plans of a protocol file's conversations (SPEC §6 Details):
how each send is cut into segments, and where a conversation is cut into
stretches for the coalesced plan. Pure: no sockets."""

from __future__ import annotations

import random
from dataclasses import dataclass

from harness.clients.segmentation import (
    BYTEWISE_EDGE,
    BYTEWISE_LIMIT,
    PAUSE,
    Plan,
    all_in_one,
    one_byte_per_segment_bounded,
    random_split,
)
from harness.protocolfile.model import BARRIERS, Step

WRITTEN, COALESCED, BYTEWISE, RANDOM = "written", "coalesced", "bytewise", "random"
PLANS = (WRITTEN, COALESCED, BYTEWISE, RANDOM)


@dataclass(frozen=True)
class Segmentation:
    plan: str = WRITTEN
    seed: int = 0

    def describe(self) -> str:
        return {
            WRITTEN: "as written: each send one write",
            COALESCED: "coalesced: within each stretch of one client's steps, all its sends in one segment, "
                       "then its expects",
            BYTEWISE: f"bytewise: every send one byte per segment, {PAUSE * 1000:g} ms apart (a send over "
                      f"{BYTEWISE_LIMIT} bytes: its first and last {BYTEWISE_EDGE} bytes so, its middle in pieces)",
            RANDOM: f"random: every send cut at seeded random offsets (seed {self.seed}; replay with --seed {self.seed})",
        }[self.plan]

    def cut(self, data: bytes, header_size: int, rng: random.Random) -> Plan:
        if self.plan == BYTEWISE and len(data) > 1:
            return one_byte_per_segment_bounded(len(data))
        if self.plan == RANDOM and len(data) > 1:
            return random_split([len(data)], header_size, rng, "seeded random cuts", max_cuts=8)
        return all_in_one(max(1, len(data)), "one write")


def stretches(steps: tuple[Step, ...]) -> list[list[Step]]:
    """Cut a conversation at its barriers: a step of another client, expect-nothing, close, expect-close."""
    result: list[list[Step]] = []
    for step in steps:
        if (result and step.kind not in BARRIERS and result[-1][-1].kind not in BARRIERS
                and result[-1][-1].client == step.client):
            result[-1].append(step)
        else:
            result.append([step])
    return result

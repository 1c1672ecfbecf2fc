"""The protocols the harness knows: name → transport and a one-line definition.

Each protocol's full definition is in docs/protocols.md (SPEC §3). Suites
declare which protocols a check applies to; the transport tells the launcher
whether readiness means a listening TCP socket or a bound UDP socket;
`serves_files` says its servers each need a directory of files to serve (the
plugin then starts them from a pool that makes one). What a protocol needs is
data here, never a test of its name elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProtocolInfo:
    name: str
    transport: str  # "tcp" | "udp"
    summary: str
    #: Its servers run in a directory of files the harness placed (tcp-file).
    serves_files: bool = False


PROTOCOLS: dict[str, ProtocolInfo] = {
    p.name: p
    for p in (
        ProtocolInfo("tcp-echo", "tcp", "RFC 862 echo over TCP: every byte comes back, in order, promptly"),
        ProtocolInfo("udp-echo", "udp", "RFC 862 echo over UDP: each datagram answered by an identical one"),
        ProtocolInfo("tcp-framed", "tcp", "length-header frames (!I, or --length-format): each answered by an identical frame"),
        ProtocolInfo("tcp-hello", "tcp", "greeting server: Welcome!, then Hello, NAME! per line; exit closes"),
        ProtocolInfo("udp-hello", "udp", "greeting server over UDP: each datagram NAME answered by Hello, NAME!"),
        ProtocolInfo("tcp-file", "tcp", "file download: get NAME -> 4-byte length, JSON header, then the file's bytes",
                     serves_files=True),
    )
}


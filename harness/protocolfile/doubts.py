"""What `harness protocol check` doubts in a valid protocol file: values TOML and SPEC §6 allow, but that an
instructor rarely means. They are printed as notes, never refused: a file that means them stays usable.

- A wait in seconds of a minute or more (`reply-timeout = 500`, `timeout = 2000`, `expect-nothing = 300`) was
  most likely written in milliseconds; a student's server would get minutes to answer.
- `pipelining = true` where no conversation has a client send twice before it waits: no
  `framing::NAME.coalesced` check is derived, which the instructor may have counted on.
- A `\\u0080`…`\\u00ff` escape in a text step of a utf-8 file is sent as two bytes (`\\u00ff` → c3 bf); whoever
  writes such an escape usually means the single byte, which is `send-hex`/`expect-hex`.
"""

from __future__ import annotations

import codecs
import re

from harness.protocolfile.derive import coalesces
from harness.protocolfile.model import EXPECT, NOTHING, SEND, ProtocolFile

#: A wait at least this long (seconds) is noted as probably meant in milliseconds.
LONG_WAIT = 60.0
#: A TOML escape of a code point that is one byte in latin-1 but two in utf-8.
BYTE_LIKE_ESCAPE = re.compile(r"\\u00([89a-fA-F][0-9a-fA-F])")


def doubts(protocol: ProtocolFile, source: str) -> list[str]:
    """One sentence per doubtful value of `protocol` (its file's text is `source`), in file order."""
    found = [_long_wait("key 'reply-timeout'", protocol.reply_timeout)]
    for conversation in protocol.conversations:
        for step in conversation.steps:
            where = f"conversation {conversation.name!r}, step {step.number}"
            found.append(_long_wait(f"{where}: 'timeout'", step.timeout))
            if step.kind == NOTHING:
                found.append(_long_wait(f"{where}: 'expect-nothing'", step.seconds))
    if protocol.pipelining and protocol.framing not in ("none", "datagram") and not any(
            coalesces(conversation) for conversation in protocol.conversations):
        found.append("pipelining = true, but no conversation has a client send twice before it waits, so no "
                     "framing::NAME.coalesced check is derived: to test sends that arrive together, write one "
                     "where a client sends two messages in a row")
    found += _byte_like_escapes(protocol, source)
    return [doubt for doubt in found if doubt]


def _long_wait(where: str, seconds: float | None) -> str:
    if seconds is None or seconds < LONG_WAIT:
        return ""
    return (f"{where} = {seconds:g} is in seconds ({seconds / 60:.1f} minutes): if you meant milliseconds, "
            f"write {seconds / 1000:g}")


def _byte_like_escapes(protocol: ProtocolFile, source: str) -> list[str]:
    if codecs.lookup(protocol.encoding).name != "utf-8":
        return []
    escapes = list(dict.fromkeys(match.group(0) for match in BYTE_LIKE_ESCAPE.finditer(source)))
    texts = [step for conversation in protocol.conversations for step in conversation.steps
             if step.kind in (SEND, EXPECT) and step.text and any(0x80 <= ord(c) <= 0xFF for c in step.text)]
    if not escapes or not texts:
        return []
    first = escapes[0]
    char = chr(int(first[2:], 16))
    return [f"{', '.join(escapes)} in text steps are sent and expected as utf-8: {first} is the two bytes "
            f"{char.encode('utf-8').hex(' ')}, not the byte {ord(char):02x}; for single bytes use send-hex / "
            f"expect-hex (or encoding = \"latin-1\")"]

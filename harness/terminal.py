"""What reaches a person's terminal: nothing a server sent may act on it (SPEC §5.6).

Rule: text shown on a terminal passes through `safe_text`, which writes every
control character except newline and tab — ESC (ANSI sequences), carriage
return and backspace (which could overwrite a harness line), BEL, DEL, the C1
controls, and the Unicode bidirectional overrides — as a visible escape such
as `\\x1b`. The JSON report keeps the real text (JSON escapes controls itself);
the JUnit file encodes what XML cannot hold (`harness.results.junit`).
"""

from __future__ import annotations

import re

#: C0 controls but \t and \n, DEL, C1 controls, bidi embeddings/overrides/isolates, line/paragraph separators,
#: and lone surrogates (a file name's undecodable bytes, a JSON "\ud800" escape: no encoder writes them).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
                     "\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode() could not decode (surrogateescape): shown as that byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """`text` with every control sequence made visible and inert."""
    return _UNSAFE.sub(_visible, text)


def safe_line(text: str) -> str:
    """`safe_text` for what must stay on one line (a submission folder's name in a progress
    line): newline and tab are made visible too, so a name cannot start a line of its own."""
    return safe_text(text).replace("\n", "\\n").replace("\t", "\\t")

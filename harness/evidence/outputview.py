"""The server's output as a person reads it under the failures of a run.

Rules (SPEC §7):
- Output is shown once: a failure shows only what its server printed that no
  earlier failure showed, and otherwise says that the output is above. The
  tail of an instance's output is cumulative (and several instances of one
  server print the same tracebacks), so "shown" is judged block by block,
  across the run.
- A traceback is one block, shown once with how many times it was printed:
  50 threads dying the same way are one traceback "(printed 50 times)".
  Threads writing tracebacks at once interleave their lines; the lines of a
  run of tracebacks are put back together by their shape (each traceback is
  a header, frames, an exception line), and caret lines (`^^^^`), which
  interleave into garbage first and add nothing a student needs, are left out.
- The scratch copy's path (`/tmp/harness-run-…/server-1f0c9a2e/submission/`) is left
  out of file names: the student knows their own files by name.

Pure text in, text out (no pytest), so every rule is testable alone. The JSON
report keeps each check's raw output tail; only the terminal view is condensed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.evidence.exception_groups import PLACE, split_exception_groups

_SCRATCH = re.compile(r"""(?:/[^\s"']*)?/harness-run-[^/\s"']+/server-[^/\s"']+/submission/""")
_START = re.compile(r"^(Exception in thread .*|Traceback \(most recent call last\):)$")
_CARETS = re.compile(r"^[\s^~]*[\^~][\s^~]*$")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(: .*)?$")
_THREAD = re.compile(r"Thread-\d+")
_THREAD_HEADER = re.compile(r"^Exception in thread .*?: ?(?=Traceback|$)")
#: A source line another thread's caret markers ran into ("x = f(y)^^^  ^^   ^^^^"): no code ends so.
_MIXED_CARETS = re.compile(r"[\^~]{3,}\s*$")
#: The start of a line made of other threads' pieces: a caret or a lone ': ' first ("^ ^ValueError", ": 'x'…").
_DEBRIS = re.compile(r"^\s*(?:[\^~]|: )")
#: A traceback's frame line that another thread's line ran into ("c.sendall(buf)^  File …").
_MID_FRAME = re.compile(r'\S\s*File "[^"]*", line \d+|\)\^|\^(?=:\s)|\w\^$')
_LEADING_CARETS = re.compile(r"^[\^~]+(?=\s)")
#: Caret markers inside a line (not a caret line of its own).
_CARET_RUN = re.compile(r"[\^~]{2,}")
_STDLIB_FRAME = re.compile(r'^  File "(?:[^"]*/lib/python3[.\d]*/|<frozen )([^"/]*)"?[^,]*, line \d+, in .+$')
#: Why a wait was cut (harness.clients.patience): said in full once per run on the terminal.
_CUT_WAIT = re.compile(r" \(not the full [\d.]+ s: this server [^()]*\)")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_NUMBERS = re.compile(r"-?\b[0-9a-f]{2}(?: [0-9a-f]{2})+\b|-?\d+")
_TRACEBACK_TRACE = re.compile(r'Traceback \(most recent call last\)|^\s*File "[^"]*", line \d+|^Exception in thread ',
                              re.MULTILINE)
_CARET_LINE = re.compile(r"^[ ^~]*[\^~]{3,}[ ^~]*$", re.MULTILINE)
_SECTION = re.compile(r"^--- server (stdout|stderr)\b.*---$")


@dataclass
class Block:
    """One traceback, or one plain line, and how many times it was printed."""

    text: str
    count: int = 1
    interleaved: bool = False  # some copies came interleaved with other threads' lines

    @property
    def key(self) -> str:
        """The same traceback whichever thread printed it, with or without threading's header, and whatever
        numbers its exception line holds (a UnicodeDecodeError at byte 0x80 or 0x94 is one bug)."""
        lines = [_THREAD_HEADER.sub("", line) for line in self.text.splitlines()]
        lines = [line for line in lines if line]
        if lines and _is_exception_line(lines[-1]):  # a traceback: its frames and its exception's name say the bug
            lines[-1] = lines[-1].split(":")[0] if len(lines) > 1 else _shape(lines[-1])
        return _THREAD.sub("Thread-N", "\n".join(lines))


def _shape(text: str) -> str:
    """`text` with its numbers (and hex) replaced: what stays is the kind of thing said."""
    return _NUMBERS.sub("#", _HEX.sub("0x#", text))


def _is_exception_line(line: str) -> bool:
    """A traceback's last line: an exception's name, maybe its message ("UnicodeDecodeError: 'utf-8' …")."""
    return bool(_EXCEPTION.match(line)) and bool(_NAMES.fullmatch(line.split(":")[0].split(".")[-1]))


_FILE = re.compile(r'^  File ".*", line \d+, in .+$')
_CODE = re.compile(r"^    \S.*$")
_NAMES = re.compile(r"\b([A-Z]\w*(?:Error|Exception|Interrupt|Exit))\b")


def well_formed(lines: list[str]) -> bool:
    """One whole traceback, not pieces of several: its headers, then frames
    (a File line, maybe its code line), then one exception line."""
    index = 0
    if lines and lines[0].startswith("Exception in thread ") and lines[0].endswith(":"):
        index = 1
    if index >= len(lines) or lines[index] != "Traceback (most recent call last):":
        return False
    body, last = lines[index + 1 : -1], lines[-1]
    if not body or not _EXCEPTION.match(last) or _START.match(last):
        return False
    previous_was_file = False
    for line in body:
        if _FILE.match(line):
            previous_was_file = True
        elif _CODE.match(line) and previous_was_file and "Traceback" not in line and "File \"" not in line:
            previous_was_file = False
        else:
            return False
    return True


def without_stdlib_frames(lines: list[str]) -> list[str]:
    """A traceback with each run of frames inside Python's own library (socket.accept,
    say) folded into one line, and a thread's two start-up frames (threading's
    _bootstrap_inner and run) left out: the student's frames are the ones to read."""
    kept: list[str] = []
    folded: list[str] = []

    def fold() -> None:
        if folded == ["threading.py", "threading.py"] and len(kept) <= 2:
            folded.clear()  # a thread's own start-up (_bootstrap_inner, run): every thread has it
        if folded:
            names = sorted(set(folded))
            kept.append(f"  ({len(folded)} frame{'s' if len(folded) > 1 else ''} in Python's {', '.join(names)})")
            folded.clear()

    index = 0
    while index < len(lines):
        match = _STDLIB_FRAME.match(lines[index])
        if match:
            folded.append(match.group(1))
            index += 1
            if index < len(lines) and _CODE.match(lines[index]):
                index += 1  # its code line
            continue
        fold()
        kept.append(lines[index])
        index += 1
    fold()
    return kept


def blocks_of(output: str) -> list[Block]:
    """Split a server's output into blocks, each distinct traceback once with
    its count; the pieces of tracebacks that threads printed at the same
    moment (interleaved mid-line) become one summary block naming their
    exceptions, since no byte-exact reconstruction exists."""
    blocks: dict[str, Block] = {}
    garbled: list[str] = []
    current: list[str] | None = None  # the traceback being read
    groups, output = split_exception_groups(output)  # each whole, as printed
    # Indented lines are pieces of tracebacks only in an output that has some: a
    # server's own "  listening on 5000" is a line like any other.
    # (A tail cut into a storm of tracebacks may hold neither a header nor a whole frame line, but still
    # their caret lines, which only tracebacks print.)
    has_tracebacks = bool(_TRACEBACK_TRACE.search(output) or _CARET_LINE.search(output))

    def add(text: str) -> None:
        block = Block(text)
        if block.key in blocks:
            blocks[block.key].count += 1
        else:
            blocks[block.key] = block

    def close() -> None:
        nonlocal current
        if current:
            if well_formed(current):
                lines = without_stdlib_frames(current)
                if lines[0].startswith("Exception in thread ") and lines[1].startswith("Traceback"):
                    lines[:2] = [f"{lines[0]} {lines[1]}"]  # one header line for a thread's traceback
                add("\n".join(lines))
            else:
                garbled.extend(current)
        current = None

    for raw in output.splitlines():
        if raw.startswith(PLACE):
            close()
            add(_SCRATCH.sub("", groups[int(raw[len(PLACE):])]))
            continue
        line = _LEADING_CARETS.sub("", _SCRATCH.sub("", raw.rstrip()))
        uncareted = re.sub(r"[\^~]{2,}", " ", line).split()
        if " ".join(uncareted) != line.strip() and uncareted and all(_NAMES.fullmatch(w) for w in uncareted):
            # "ConnectionResetError^^^^^^^   ^^^", "MemoryError ^^^^  ^^^^MemoryError": exception
            # names and other threads' carets, run together
            if len(uncareted) > 1:
                garbled.append(" ".join(uncareted))
                continue
            line = uncareted[0]
        if not line.strip() or _CARETS.match(line) or _SECTION.match(line) or _MIXED_CARETS.search(line):
            continue
        if has_tracebacks and (_CARET_RUN.search(line) or _DEBRIS.match(line) or _MID_FRAME.search(line)):
            # "MemoryError^^^^^^^^chunk = conn.recv(n)^^", "^MemoryError^^": carets come only from
            # tracebacks, so a line they run through is pieces of interleaved ones
            garbled.append(line)
            continue
        if _START.match(line):
            if current and current[-1].startswith("Exception in thread") and line.startswith("Traceback"):
                current.append(line)  # the two headers of one thread's traceback
                continue
            close()
            current = [line]
        elif current is not None and (line.startswith((" ", "\t")) or not _EXCEPTION.match(line)):
            current.append(line)
        elif current is not None and len(current) > 1:
            current.append(line)
            close()
        else:
            close()
            # Indented lines outside a traceback are its cut-off start (a tail
            # begins mid-way) or pieces of interleaved ones.
            if has_tracebacks and (line.startswith((" ", "\t")) or _THREAD.search(line)
                                   or (garbled and _is_fragment(line, blocks))
                                   or _NAMES.search(line) or _in_an_exception_line(line, blocks, garbled)):
                garbled.append(line)  # (an exception's line on its own: a piece of a traceback whose lines
            else:                     # other threads' lines broke apart)
                add(line)
    close()
    tracebacks = [_shape(b.text) for b in blocks.values() if "Traceback" in b.text] + [_shape("\n".join(garbled))]
    result = []
    for block in blocks.values():
        piece = _shape(block.text.strip())
        if "\n" not in block.text and (any(piece in t for t in tracebacks if t != _shape(block.text))
                                        or (garbled and _NAMES.fullmatch(piece.split(":")[0]))):
            garbled.append(block.text)  # a stray piece of an interleaved traceback
        else:
            result.append(block)
    if garbled:
        text = "\n".join(garbled)
        names = set(_NAMES.findall(text))
        like = [b for b in result if "Traceback" in b.text and b.text.splitlines()[-1].split(":")[0] in names]
        if len(names) == 1 and len(like) == 1:  # the same exception as a whole traceback: counted with it
            like[0].count += max(1, text.count("Traceback (most recent call last)"))
            like[0].interleaved = True
        else:
            result.append(Block(_garbled_summary(text, blocks)))
    return result


#: A run of this many lines alike (numbers aside) or more is shown as its first line and a count.
RUN_SHOWN = 3


def _runs_condensed(texts: list[str]) -> list[str]:
    """Runs of one-line outputs alike but for their numbers ("Accept new connection from 127.0.0.1:40918"
    ×42) as their first line and how many more: the numbers differ, the news does not."""
    condensed: list[str] = []
    index = 0
    while index < len(texts):
        end = index + 1
        while (end < len(texts) and "\n" not in texts[index] and "\n" not in texts[end]
               and _shape(texts[end]) == _shape(texts[index])):
            end += 1
        if end - index >= RUN_SHOWN:
            condensed += [texts[index], f"(and {end - index - 1} more lines like it)"]
        else:
            condensed += texts[index:end]
        index = end
    return condensed


def _in_an_exception_line(line: str, blocks: dict[str, Block], garbled: list[str]) -> bool:
    """A piece of an exception's message (numbers aside): "'utf-8' codec can't decode byte 0xdf …" broken off
    its "UnicodeDecodeError: " by another thread's lines."""
    piece = _shape(line.strip())
    if len(piece) < 12:
        return False
    said = [b.text.splitlines()[-1] for b in blocks.values()] + garbled
    return any(piece in _shape(text) for text in said if _NAMES.search(text))


def _is_fragment(line: str, blocks: dict[str, Block]) -> bool:
    """A stray piece of an interleaved traceback: part of a traceback's line, or an exception name."""
    stripped = line.strip()
    if _NAMES.fullmatch(stripped.split(":")[0]):
        return True
    # Two threads' copies of a source line on one line: "x = f(y)    x = f(y)".
    pieces = re.split(r"\s{2,}", _shape(stripped))
    return all(any(piece in _shape(b.text) for b in blocks.values()) for piece in pieces)


def _garbled_summary(text: str, blocks: dict[str, Block]) -> str:
    counts: dict[str, int] = {}
    for name in _NAMES.findall(text):
        counts[name] = counts.get(name, 0) + 1
    starts = text.count("Traceback (most recent call last)")
    names = ", ".join(f"{name} ×{count}" for name, count in counts.items()) or "exceptions"
    like = ""
    whole = [b for b in blocks.values() if "Traceback" in b.text]
    if any(name in b.text.splitlines()[-1] for b in whole for name in counts):
        like = " (like the traceback above)"
    else:  # no whole traceback to point to: one of their exception lines, as it was printed
        example = next((piece for line in text.splitlines() for piece in re.split(r"\s{2,}", line.strip())
                        if _is_exception_line(piece) and ": " in piece), "")
        like = f"; one of them: {example}" if example else ""
    more = "more " if whole else ""
    return (f"({max(starts, sum(counts.values()), 1)} {more}traceback(s) printed at the same moment (threads or "
            f"tasks failing at once), their lines interleaved: {names}{like})")


@dataclass
class OutputView:
    """What the run has shown of the servers' output so far."""

    shown: set[str] = field(default_factory=set)
    #: The tracebacks shown (a stray piece of one, later, is not news).
    tracebacks: list[str] = field(default_factory=list)
    #: Hints already shown, by their wording without the numbers.
    hints: set[str] = field(default_factory=set)
    #: Whether a failure has said why its wait was shorter than the reply timeout (harness.clients.patience).
    cut_told: bool = False

    #: Whether a failure with no reply at all has been shown with its expected bytes.
    silent: bool = False
    #: The shapes (event kinds per connection) of the wire timelines drawn so far.
    _timelines: set[tuple] = field(default_factory=set)
    #: Suites whose failure drew the run's timeline (one per run keeps it short; -v draws every one).
    _timeline_suites: set[str] = field(default_factory=set)

    def silence_shown(self) -> bool:
        """True from the second failure on where nothing came back: the first one
        shows the expected bytes; later ones say "nothing came back" in their first line."""
        shown, self.silent = self.silent, True
        return shown

    def condense_detail(self, detail: str | None) -> str | None:
        """A check's detail quoting the server's tracebacks (shutdown::no_traceback)
        is condensed like the output, and marks them shown; any other detail is kept."""
        if not detail or "Traceback (most recent call last)" not in detail:
            return detail
        fresh, seen = self.new_part(detail)
        return fresh or f"(the traceback{'s' if seen > 1 else ''}: as shown above)"

    def once(self, message: str | None) -> str | None:
        """`message` without hint lines an earlier failure showed in the same words
        (numbers aside): its first line points to the hint above instead."""
        if not message:
            return message
        lines, dropped = [], False
        for line in message.splitlines():
            if line.startswith("hint:"):
                shape = _NUMBERS.sub("#", line)
                if shape in self.hints:
                    dropped = True
                    continue
                self.hints.add(shape)
            lines.append(line)
        if dropped and lines:
            lines[0] += " (see the hint above)"
        text = "\n".join(lines)
        if self.cut_told:
            return _CUT_WAIT.sub(" (shortened, as said above)", text)
        self.cut_told = _CUT_WAIT.search(text) is not None
        return text

    def new_part(self, output: str) -> tuple[str, int]:
        """(the blocks of `output` not shown before, rendered; how many were already shown)."""
        fresh, seen = [], 0
        for block in blocks_of(output):
            stray = "\n" not in block.text and any(block.text.strip() in t for t in self.tracebacks)
            if block.key in self.shown or stray:
                seen += 1
                continue
            self.shown.add(block.key)
            if "Traceback" in block.text:
                self.tracebacks.append(block.text)
            text = block.text
            if block.count > 1:
                threads = " by as many threads" if "Thread-" in text or block.interleaved else ""
                mixed = ", their lines interleaved" if block.interleaved else ""
                text += f"  (printed {block.count} times{threads}{mixed})"
            fresh.append(text)
        return "\n".join(_runs_condensed(fresh)), seen

    def explain(self, message: str | None, detail: str | None, expected: str | None, received: str | None,
                server_output: str | None) -> dict[str, str | None]:
        """A failure's explanation as the terminal shows it, given what earlier failures showed."""
        explained = {"message": self.once(message), "detail": self.condense_detail(detail),
                     "expected": expected, "received": received, "server_output": self.render(server_output)}
        if detail != explained["detail"] and explained["server_output"].startswith("("):
            explained["server_output"] = ""  # the detail was the server's output: no need to point at it
        if received == "" and not detail and self.silence_shown():
            explained["expected"] = None  # "nothing came back" has been shown with its bytes once
        return explained

    def timeline_once(self, wire: dict[str, Any] | None, check_id: str) -> dict[str, Any] | None:
        """The wire log to draw under a failure, or None: a shutdown check's subject is the
        server's exit, not the exchange; one timeline per run (its first failure, the one a
        student reads first) keeps a buggy server's run short, and an exchange shaped like
        one already drawn adds nothing. The JSON and HTML reports keep every one (-v draws all)."""
        suite = check_id.partition("::")[0]
        if not wire or suite == "shutdown" or self._timeline_suites:
            return None
        moves = [(e.get("kind"), e.get("conn")) for e in wire.get("events", ()) if e.get("kind") != "note"]
        shape = tuple(move for i, move in enumerate(moves) if i == 0 or move != moves[i - 1])  # 46 writes = 1 write
        if shape in self._timelines:
            return None
        self._timelines.add(shape)
        self._timeline_suites.add(suite)
        return wire

    def render(self, output: str | None) -> str:
        """The lines to print under a failure for its server's output ("" if none)."""
        if not output:
            return ""
        fresh, seen = self.new_part(output)
        if fresh:
            return "--- server output" + (" (new since the last failure)" if seen else "") + " ---\n" + fresh
        return "(the server's output: as shown above)"

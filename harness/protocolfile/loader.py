"""Read and validate a protocol file (SPEC §6) with the standard library's tomllib.

Every problem is the instructor's input error: `ProtocolFileError` (a
`ConfigError`, exit 2) whose message names the file, the conversation, the
step number and the problem, e.g.

    kv.toml: conversation 'set_then_get', step 3: two actions in one step ('send' and 'expect'); ...

Nothing here opens a socket or starts a server. Files are cached by absolute
path, so every module of one process sees the same object.
"""

from __future__ import annotations

import codecs
import difflib
import math
import re
import struct
import tomllib
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.protocolfile.model import (
    CLOSE,
    CLOSE_EXPECTED,
    EXPECT,
    MATCH,
    NOTHING,
    PLACEHOLDER,
    SEND,
    SOLO_LABEL,
    Conversation,
    ProtocolFile,
    Reference,
    Step,
    pattern_shown,
)
from harness.protocolfile.steporder import order_problem, unknown_placeholder
from harness.protocols.framing import DEFAULT_MAX_FRAME, FrameCodec

TOP_KEYS = ("name", "transport", "framing", "line-ending", "encoding", "length-format", "pipelining",
            "reply-timeout", "reference", "conversation")
REQUIRED_TOP = ("name", "transport", "framing")
CONVERSATION_KEYS = ("name", "description", "tier", "clients", "steps")
#: A conversation name is an identifier: it becomes part of check ids, pytest ids and command lines (--check).
CONVERSATION_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
ACTIONS = ("send", "send-hex", "expect", "expect-hex", "expect-match", "expect-close", "expect-nothing", "close")
STEP_MODIFIERS = ("client", "timeout", "example")
FRAMINGS = {"tcp": ("line", "length", "none"), "udp": ("datagram",)}
TIERS = ("required", "recommended")
#: Keys that apply only to one framing.
FRAMING_ONLY = {"line-ending": "line", "length-format": "length"}
#: What an instructor may write for a line ending instead of its characters.
LINE_ENDING_NAMES = {"CRLF": "\r\n", "LF": "\n", "CR": "\r"}
REFERENCE_ANSWER = "@reference"
#: The longest wait a step may ask for (timeout, expect-nothing): an hour; beyond it is a typo, and a wait the
#: operating system cannot express (inf, 1e9 s) would show up as the server's failure.
MAX_SECONDS = 3600.0
#: The largest UDP payload over IPv4 (65535 - 8 - 20).
MAX_DATAGRAM = 65507
HEX_PAIRS = re.compile(r"\s*(?:[0-9A-Fa-f]{2}\s*)*")

_CACHE: dict[Path, ProtocolFile] = {}


class ProtocolFileError(ConfigError):
    """A bad protocol file (exit 2)."""


def is_protocol_file(protocol: str) -> bool:
    """`--protocol` names a protocol file (a path ending in .toml), not a built-in protocol."""
    return protocol.lower().endswith(".toml")


def display_name(protocol: str) -> str:
    """What reports call a protocol: a protocol file's `name` (its path if the file cannot be loaded)."""
    if not is_protocol_file(protocol):
        return protocol
    try:
        return load_protocol_file(protocol).name
    except ConfigError:
        return protocol


def load_protocol_file(path: str | Path) -> ProtocolFile:
    """The validated protocol file at `path` (cached per absolute path)."""
    resolved = Path(path).expanduser().absolute()
    if resolved in _CACHE:
        return _CACHE[resolved]
    shown = str(path)
    if not resolved.is_file():
        raise ProtocolFileError(f"protocol file not found: {shown!r}")
    try:
        data = tomllib.loads(resolved.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolFileError(f"{shown}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolFileError(f"{shown}: cannot read the protocol file: {exc}") from None
    loaded = _Loader(shown, resolved).load(data)
    _CACHE[resolved] = loaded
    return loaded


def toml_value(value: Any) -> str:
    """A value as a TOML author writes it (true, not True; inf, not 'inf')."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return repr(value)


#: Keys an author guesses from other tools, and the key meant.
SYNONYMS = {"expect-regex": "expect-match", "expect-re": "expect-match", "expect-pattern": "expect-match",
            "regex": "expect-match", "match": "expect-match", "expect-bytes": "expect-hex", "send-bytes": "send-hex"}


def _suggest(key: str, known: tuple[str, ...]) -> str:
    meant = SYNONYMS.get(key)
    close = [meant] if meant in known else difflib.get_close_matches(key, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else f"; known keys: {', '.join(known)}"


class _Loader:
    def __init__(self, shown: str, path: Path) -> None:
        self.shown = shown
        self.path = path

    # -- messages ------------------------------------------------------------
    def fail(self, problem: str, conversation: str | None = None, step: int | None = None) -> ProtocolFileError:
        where = self.shown
        if conversation is not None:
            where += f": conversation {conversation}"
            if step is not None:
                where += f", step {step}"
        return ProtocolFileError(f"{where}: {problem}")

    # -- the file ------------------------------------------------------------
    def load(self, data: dict[str, Any]) -> ProtocolFile:
        for key in data:
            if key not in TOP_KEYS:
                raise self.fail(f"unknown key '{key}'{_suggest(key, TOP_KEYS)}")
        for key in REQUIRED_TOP:
            if key not in data:
                raise self.fail(f"missing required key '{key}'")
        if "conversation" not in data:
            raise self.fail("no conversation: add at least one [[conversation]] with a name and steps")
        name = self.text_key(data, "name")
        transport = self.text_key(data, "transport")
        if transport not in FRAMINGS:
            raise self.fail(f"key 'transport': expected \"tcp\" or \"udp\", got {transport!r}")
        framing = self.text_key(data, "framing")
        allowed = FRAMINGS[transport]
        if framing not in FRAMINGS["tcp"] + FRAMINGS["udp"]:
            raise self.fail(f"key 'framing': unknown framing {framing!r}; tcp: line, length or none; udp: datagram")
        if framing not in allowed:
            raise self.fail(f"key 'framing': framing {framing!r} does not fit transport {transport!r} "
                            f"({transport} allows: {', '.join(allowed)})")
        for key, only in FRAMING_ONLY.items():
            if key in data and framing != only:
                raise self.fail(f"key '{key}' does not apply to framing {framing!r} (only to {only!r})")
        line_ending = self.text_key(data, "line-ending", "\n")
        if not line_ending:
            raise self.fail("key 'line-ending': must not be empty")
        line_ending = LINE_ENDING_NAMES.get(line_ending.upper(), line_ending)
        if "\\r" in line_ending or "\\n" in line_ending:
            raise self.fail(f"key 'line-ending': {line_ending!r} holds a backslash, not a control character: in TOML "
                            "'single quotes' keep backslashes as they are; write \"\\r\\n\" or \"\\n\" in double "
                            "quotes (or the names CRLF, LF)")
        encoding = self.text_key(data, "encoding", "utf-8")
        try:
            codecs.lookup(encoding)
            one, two = "a".encode(encoding), "aa".encode(encoding)
        except LookupError:
            raise self.fail(f"key 'encoding': unknown text encoding {encoding!r} (e.g. 'utf-8', 'latin-1', 'ascii')") from None
        if len(two) != 2 * len(one):  # each piece would start with a byte-order mark (blind 15)
            raise self.fail(f"key 'encoding': {encoding!r} writes a byte-order mark before every piece of text "
                            f"({one.hex(' ')} for 'a'): name the byte order, e.g. 'utf-16-be' or 'utf-16-le'")
        length_format = self.text_key(data, "length-format", "!I")
        self.check_length_format(length_format)
        pipelining = data.get("pipelining", True)
        if not isinstance(pipelining, bool):
            raise self.fail(f"key 'pipelining': expected true or false, got {pipelining!r}")
        reply_timeout = data.get("reply-timeout")
        if reply_timeout is not None:
            reply_timeout = self.seconds(reply_timeout, "key 'reply-timeout'")
        reference = self.reference(data.get("reference"))
        protocol = ProtocolFile(
            path=self.path, name=name, transport=transport, framing=framing, conversations=(),
            line_ending=line_ending, encoding=encoding, length_format=length_format, pipelining=pipelining,
            reply_timeout=reply_timeout, reference=reference, keys=frozenset(data),
        )
        conversations = data["conversation"]
        if not isinstance(conversations, list) or not conversations or not all(isinstance(c, dict) for c in conversations):
            raise self.fail("key 'conversation': expected one or more [[conversation]] tables")
        parsed: list[Conversation] = []
        for index, table in enumerate(conversations):
            conversation = self.conversation(table, index, protocol)
            if any(c.name == conversation.name for c in parsed):
                raise self.fail(f"two conversations are named {conversation.name!r}: names make the check ids, "
                                "they must be unique", f"{conversation.name!r} (#{index + 1})")
            parsed.append(conversation)
        if not any(c.tier == "required" for c in parsed):
            raise self.fail("every conversation has tier = \"recommended\": make at least one required (the default) "
                            "— the concurrency and shutdown checks are required and run only required "
                            "conversations, so that a recommended conversation's failure stays a warning")
        return ProtocolFile(**{**protocol.__dict__, "conversations": tuple(parsed)})

    def text_key(self, data: dict[str, Any], key: str, default: str | None = None) -> str:
        value = data.get(key, default)
        if not isinstance(value, str):
            raise self.fail(f"key '{key}': expected a string, got {value!r}")
        if PLACEHOLDER in value:
            raise self.fail(f"key '{key}': {PLACEHOLDER} is replaced only in steps, not in a file-level key")
        return value

    def seconds(self, value: Any, where: str, conversation: str | None = None, step: int | None = None) -> float:
        if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
                or not 0 < value <= MAX_SECONDS):
            raise self.fail(f"{where}: expected a finite number of seconds above 0 and at most {MAX_SECONDS:g}, "
                            f"got {toml_value(value)}", conversation, step)
        return float(value)

    def fits_framing(self, step: Step, protocol: ProtocolFile, fail: Any) -> Step:
        """A message the framing cannot carry is the file's error, found now: not a run's internal error
        blamed on the server."""
        if protocol.framing == "length":
            largest, carrier = (FrameCodec(protocol.length_format, DEFAULT_MAX_FRAME).largest,
                                f"a frame with the length header {protocol.length_format!r}")
        elif protocol.framing == "datagram":
            largest, carrier = MAX_DATAGRAM, "a UDP datagram"
        else:
            return step
        size = len(step.payload(SOLO_LABEL))
        if size > largest:
            what = "cannot be sent" if step.kind == SEND else "can never arrive"
            raise fail(f"a {size}-byte message {what}: {carrier} carries at most {largest} bytes")
        return step

    def check_length_format(self, length_format: str) -> None:
        try:
            header = struct.Struct(length_format)
            (value,) = header.unpack(header.pack(1))
            if type(value) is not int:
                raise ValueError
        except (struct.error, ValueError, TypeError):
            raise self.fail(f"key 'length-format': {length_format!r} is not a struct format of one integer "
                            "(e.g. \"!I\", \"<i\", \"!H\")") from None

    def reference(self, table: Any) -> Reference | None:
        if table is None:
            return None
        if not isinstance(table, dict):
            raise self.fail("key 'reference': expected a table [reference] with command = [...]")
        for key in table:
            if key != "command":
                raise self.fail(f"unknown key 'reference.{key}' (a [reference] has only 'command')")
        command = table.get("command")
        if (not isinstance(command, list) or not command or not all(isinstance(a, str) and a for a in command)):
            raise self.fail(f"key 'reference.command': expected a list of strings, e.g. [\"server.py\", \"{{port}}\"], "
                            f"got {command!r}")
        if any(PLACEHOLDER in a for a in command):
            raise self.fail(f"key 'reference.command': {PLACEHOLDER} is replaced only in steps, not in a file-level key")
        return Reference(tuple(command), self.path.parent)

    # -- conversations -------------------------------------------------------
    def conversation(self, table: dict[str, Any], index: int, protocol: ProtocolFile) -> Conversation:
        raw_name = table.get("name")
        shown = f"#{index + 1}" if not isinstance(raw_name, str) or not raw_name else repr(raw_name)
        for key in table:
            if key not in CONVERSATION_KEYS:
                raise self.fail(f"unknown key '{key}'{_suggest(key, CONVERSATION_KEYS)}", shown)
        if "name" not in table:
            raise self.fail("missing required key 'name'", shown)
        if not isinstance(raw_name, str) or not raw_name.strip():
            raise self.fail(f"key 'name': expected a non-empty string, got {raw_name!r}", shown)
        if not CONVERSATION_NAME.fullmatch(raw_name):
            raise self.fail(f"key 'name': {raw_name!r} is not a valid conversation name: it becomes part of check "
                            "ids (conversation::NAME, framing::NAME.bytewise), so use only ASCII letters, digits, "
                            "'_' and '-', starting with a letter, digit or '_' (e.g. \"set_then_get\")", shown)
        description = table.get("description", "")
        if not isinstance(description, str):
            raise self.fail(f"key 'description': expected a string, got {description!r}", shown)
        tier = table.get("tier", "required")
        if tier not in TIERS:
            raise self.fail(f"key 'tier': expected \"required\" or \"recommended\", got {tier!r}", shown)
        clients = table.get("clients", ["client"])
        if (not isinstance(clients, list) or not clients or not all(isinstance(c, str) and c for c in clients)):
            raise self.fail(f"key 'clients': expected a list of client names, e.g. [\"a\", \"b\"], got {clients!r}", shown)
        if len(set(clients)) != len(clients):
            raise self.fail(f"key 'clients': a client is named twice in {clients!r}", shown)
        if any(PLACEHOLDER in c for c in clients):
            raise self.fail(f"key 'clients': {PLACEHOLDER} is replaced only in steps, not in a client's name", shown)
        if "steps" not in table:
            raise self.fail("missing required key 'steps' (a conversation needs at least one step)", shown)
        steps = table["steps"]
        if not isinstance(steps, list) or not steps:
            raise self.fail("key 'steps': expected a list of at least one step, e.g. [{ send = \"...\" }]", shown)
        parsed = tuple(self.step(step, number, shown, tuple(clients), protocol)
                       for number, step in enumerate(steps, start=1))
        for step in parsed:
            problem = unknown_placeholder(step.text, step.pattern, step.example)
            if problem:
                raise self.fail(problem, shown, step.number)
        order = order_problem(parsed)
        if order is not None:
            raise self.fail(order[1], shown, order[0])
        return Conversation(name=raw_name, steps=parsed, clients=tuple(clients), description=description, tier=tier)

    def step(self, table: Any, number: int, conv: str, clients: tuple[str, ...], protocol: ProtocolFile) -> Step:
        def fail(problem: str) -> ProtocolFileError:
            return self.fail(problem, conv, number)

        if not isinstance(table, dict):
            raise fail(f"expected a table such as {{ send = \"...\" }}, got {table!r}")
        for key in table:
            if key not in ACTIONS + STEP_MODIFIERS:
                raise fail(f"unknown key '{key}'{_suggest(key, ACTIONS + STEP_MODIFIERS)}")
        actions = [key for key in table if key in ACTIONS]
        if not actions:
            raise fail(f"no action: a step needs exactly one of {', '.join(ACTIONS)}")
        if len(actions) > 1:
            raise fail(f"two actions in one step ({' and '.join(repr(a) for a in actions)}): "
                       "write them as separate steps")
        action = actions[0]
        value = table[action]
        client = table.get("client", clients[0])
        if not isinstance(client, str) or client not in clients:
            raise fail(f"client {client!r} is not a client of this conversation "
                       f"(clients = {list(clients)!r})")
        timeout = None
        if "timeout" in table:
            if action in ("send", "send-hex", "close"):
                raise fail(f"'timeout' applies to expect steps only, not to {action!r}")
            timeout = self.seconds(table["timeout"], "key 'timeout'", conv, number)
        if "example" in table and action != "expect-match":
            raise fail("'example' goes with 'expect-match' only")
        common = {"number": number, "client": client, "timeout": timeout, "encoding": protocol.encoding}
        framing = protocol.framing

        if action in ("send", "expect"):
            if not isinstance(value, str):
                raise fail(f"'{action}' expects a string, got {value!r}")
            kind = SEND if action == "send" else EXPECT
            if action == "expect" and value == REFERENCE_ANSWER:
                if protocol.reference is None:
                    raise fail("expect = \"@reference\" needs a [reference] server (add [reference] "
                               "command = [...] to the file)")
                if framing == "none":
                    raise fail("expect = \"@reference\" is not allowed with framing \"none\" "
                               "(without framing, the length of the answer is unknown)")
                return Step(kind=EXPECT, reference=True, **common)
            self.encodable(value, protocol, fail)
            if framing == "line" and protocol.line_ending in value:
                raise fail(f"'{action}' contains the line ending {protocol.line_ending!r}: one step is one line "
                           "(the line ending is added); write two steps")
            return self.fits_framing(Step(kind=kind, text=value, **common), protocol, fail)
        if action in ("send-hex", "expect-hex"):
            raw = self.hex(value, fail, action)
            if framing == "line" and protocol.line_ending.encode(protocol.encoding) in raw:
                raise fail(f"'{action}' contains the line ending: one step is one line (the line ending is added)")
            return self.fits_framing(Step(kind=SEND if action == "send-hex" else EXPECT, raw=raw, **common), protocol,
                                     fail)
        if action == "expect-match":
            if framing == "none":
                raise fail("'expect-match' is not allowed with framing \"none\" "
                           "(without framing, the length of the answer is unknown)")
            if not isinstance(value, str):
                raise fail(f"'expect-match' expects a regular expression (a string), got {value!r}")
            if "example" not in table:
                raise fail("'expect-match' needs an 'example': a message it must match "
                           "(checked now, so a wrong pattern is caught before students see it)")
            example = table["example"]
            if not isinstance(example, str):
                raise fail(f"'example' expects a string, got {example!r}")
            pattern = value.replace(PLACEHOLDER, SOLO_LABEL)
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise fail(f"'expect-match' is not a valid regular expression: {exc} in {pattern_shown(value)}") from None
            if compiled.fullmatch(example.replace(PLACEHOLDER, SOLO_LABEL)) is None:
                raise fail(f"'expect-match' {pattern_shown(value)} does not match its example {pattern_shown(example)} "
                           "(the pattern must match the whole message)")
            return Step(kind=MATCH, pattern=value, example=example, **common)
        if action == "expect-close":
            if value is not True:
                raise fail(f"'expect-close' takes true, got {toml_value(value)}")
            if protocol.transport == "udp":
                raise fail("'expect-close' does not apply to UDP (there is no connection to close)")
            return Step(kind=CLOSE_EXPECTED, **common)
        if action == "expect-nothing":
            seconds = self.seconds(value, "'expect-nothing'", conv, number)
            return Step(kind=NOTHING, seconds=seconds, **common)
        if value is not True:  # close
            raise fail(f"'close' takes true, got {toml_value(value)}")
        return Step(kind=CLOSE, **common)

    def encodable(self, text: str, protocol: ProtocolFile, fail: Any) -> None:
        try:
            text.encode(protocol.encoding)
        except UnicodeEncodeError as exc:
            raise fail(f"{text!r} cannot be written in the file's encoding {protocol.encoding!r}: {exc.reason}") from None

    def hex(self, value: Any, fail: Any, action: str) -> bytes:
        if not isinstance(value, str) or HEX_PAIRS.fullmatch(value) is None:
            raise fail(f"'{action}' expects pairs of hex digits (whitespace allowed between pairs), got {value!r}")
        return bytes.fromhex("".join(value.split()))

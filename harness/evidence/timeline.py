"""A failing check's exchange, told in words: the terminal's few-line timeline,
and the phrases the sequence diagram (harness/evidence/sequence_diagram.py) uses too.

Pure functions of a report's `wire` object (harness/evidence/wirelog.py, schema in
docs/report.md). Server-controlled bytes only ever appear as sizes, hex or
escaped printable ASCII (`preview`): nothing the server sent can reach the
terminal as a control sequence.
"""

from __future__ import annotations

from typing import Any

from harness.evidence import wirelog

#: Lines of timeline shown in the terminal (around the failure).
LINES = 6
#: Lines shown after the failure point (what came late).
AFTER = 2
#: Sizes listed in one line of writes/reads before "...".
SIZES = 6


def size(n: int) -> str:
    return f"{n:,} B"


def seconds(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 0.1 else f"{s:.2f} s"


def preview(head_hex: str, limit: int = 16) -> str:
    """The first bytes of a chunk: quoted text if printable ASCII, else hex."""
    data = bytes.fromhex(head_hex)[:limit]
    if data and all(32 <= b < 127 for b in data):
        return "'" + data.decode("ascii").replace("\\", "\\\\").replace("'", "\\'") + "'"
    return data.hex(" ")


def labels(wire: dict[str, Any]) -> dict[int, str]:
    return {c["id"]: c["label"] for c in wire.get("connections", [])}


def silence_length(events: list[dict[str, Any]], index: int) -> float:
    """How long the wait that ended in the silence event at `index` lasted:
    since the previous event of that connection."""
    event = events[index]
    for earlier in reversed(events[:index]):
        if earlier.get("conn") == event.get("conn") and earlier["kind"] != wirelog.GAP:
            return event["t"] - earlier["t"]
    return event["t"]


def verdict_text(wire: dict[str, Any]) -> str:
    """ "first difference: reply byte 1027 (expected 0x2b, received 0x01)" or "reply byte 15 never came"."""
    verdict = wire.get("verdict") or {}
    offset = verdict.get("reply_offset")
    if offset is None:
        return "the check failed here"
    if verdict.get("received") is None:
        return f"reply byte {offset} never came" if verdict.get("expected") is not None \
            else f"all {offset} expected bytes came"
    if verdict.get("expected") is None:
        return f"reply byte {offset} is one too many (0x{verdict['received']:02x})"
    return (f"first difference: reply byte {offset} (byte {verdict['chunk_offset']} of this chunk): "
            f"expected 0x{verdict['expected']:02x}, received 0x{verdict['received']:02x}"
            if verdict.get("chunk_offset") is not None else
            f"first difference: reply byte {offset}: expected 0x{verdict['expected']:02x}, "
            f"received 0x{verdict['received']:02x}")


def event_text(wire: dict[str, Any], index: int) -> str:
    """One event in words, without its time or connection."""
    events = wire["events"]
    event = events[index]
    kind = event["kind"]
    text = event.get("text")
    if kind == wirelog.CONNECT:
        udp = any(c["id"] == event.get("conn") and c["transport"] == "udp" for c in wire.get("connections", []))
        return "opens its UDP socket" if udp else "connects"
    if kind == wirelog.REFUSED:
        return f"✗ refused ({text})" if text else "✗ connection refused"
    if kind == wirelog.SEND:
        segment = f" (segment {event['segment']})" if event.get("segment") else ""
        return f"→ {size(event['size'])}{segment}"
    if kind == wirelog.RECV:
        origin = event.get("from")
        whose = f" — {labels(wire).get(origin, 'another client')}'s bytes" if origin is not None else ""
        return f"← {size(event['size'])}{whose}"
    if kind == wirelog.SILENCE:
        return f"← nothing for {seconds(silence_length(events, index))}"
    if kind == wirelog.SEND_FAILED:
        return f"✗ the next write failed ({text})" if text else "✗ the next write failed"
    if kind == wirelog.CLIENT_FIN:
        return f"→ FIN ({text})" if text else "→ FIN"
    if kind == wirelog.CLIENT_RST:
        return f"→ RST ({text})" if text else "→ RST"
    if kind == wirelog.SERVER_FIN:
        return "← FIN: the server closed the connection"
    if kind == wirelog.SERVER_RST:
        return "← RST: the server reset the connection"
    if kind == wirelog.SERVER_EXIT:
        return f"the server is found exited ({text})" if text else "the server is found exited"
    if kind == wirelog.GAP:
        return f"… {event['count']} events not shown …"
    if kind == wirelog.NOTE:
        return text or ""
    return kind


def _groups(events: list[dict[str, Any]], verdict: int | None) -> list[list[int]]:
    """Consecutive writes (or reads) of one connection form one line, the verdict's event
    one of its own; notes are left out (the check's message already says how the stream was cut)."""
    groups: list[list[int]] = []
    for index, event in enumerate(events):
        if event["kind"] == wirelog.NOTE:
            continue
        last = events[groups[-1][-1]] if groups else None
        if (last is not None and event["kind"] in (wirelog.SEND, wirelog.RECV) and last["kind"] == event["kind"]
                and last.get("conn") == event.get("conn") and verdict not in (index, groups[-1][-1])):
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _group_text(wire: dict[str, Any], group: list[int]) -> str:
    events = wire["events"]
    first = events[group[0]]
    if len(group) == 1:
        return event_text(wire, group[0])
    sizes = [events[i]["size"] for i in group]
    arrow = "→" if first["kind"] == wirelog.SEND else "←"
    listed = ", ".join(size(s) for s in sizes[:SIZES]) + (", …" if len(sizes) > SIZES else "")
    span = events[group[-1]]["t"] - first["t"]
    verb = "writes" if first["kind"] == wirelog.SEND else "reads"
    return f"{arrow} {listed} ({len(sizes)} {verb}, {size(sum(sizes))} in {seconds(span)})"


def render(wire: dict[str, Any], lines: int = LINES) -> str:
    """The exchange around the failure, a few lines:
    `0.000  → 4 B (segment 1/2)` … `2.004  ← nothing for 2.00 s  ✗ reply byte 0 never came`."""
    events = wire.get("events") or []
    verdict = (wire.get("verdict") or {}).get("event")
    groups = _groups(events, verdict)
    if len(groups) >= 2 and verdict == groups[-2][-1] and events[verdict]["kind"] == wirelog.SILENCE \
            and events[groups[-1][0]]["kind"] == wirelog.CLIENT_FIN:
        groups.pop()  # "nothing came", then only our own close: the close says nothing more
    if not groups:
        return ""
    at = next((g for g, group in enumerate(groups) if verdict in group), None)
    focus = at if at is not None else len(groups) - 1
    start = max(0, min(focus - (lines - AFTER - 1), len(groups) - lines))
    shown = groups[start : start + lines]
    names = labels(wire)
    several = len(names) > 1
    out = ["on the wire (seconds since the check began; → client to server, ← server to client):"]
    if start:
        earlier = sum(len(g) for g in groups[:start])
        out.append(f"  {'':>7}  … {earlier} earlier event{'' if earlier == 1 else 's'} …")
    for group in shown:
        event = events[group[0]]
        who = f"{names.get(event.get('conn'), '')} " if several and event.get("conn") is not None else ""
        text = _group_text(wire, group)
        if verdict in group:
            if events[verdict]["kind"] == wirelog.RECV:
                text += f" {preview(events[verdict]['head'])}"
            text += f"  ✗ {verdict_text(wire)}"
        out.append(f"  {event['t']:7.3f}  {who}{text}")
    rest = len(groups) - start - len(shown)
    if rest:
        out.append(f"  {'':>7}  … {rest} more …")
    if verdict is None and wire.get("verdict", {}).get("reply_offset") is not None:
        out.append(f"  ✗ {verdict_text(wire)}")
    return "\n".join(out)

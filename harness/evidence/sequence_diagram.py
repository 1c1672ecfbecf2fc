"""A failing check's exchange as an SVG sequence diagram.

Pure: a report's `wire` object (harness/evidence/wirelog.py; docs/report.md) in, SVG
text out — inline in the HTML report, or standalone (with its namespace) for
an <img>, Gradescope, the docs' pictures.

How it reads:
- One lane per client connection (or UDP socket) on the left, the server's
  lane on the right; time runs down.
- One arrow per event: each write (→, the client's colour, with its size and
  its segment number), each chunk received (←), connect, FIN and RST either
  way (RST in red), a write the kernel refused (✕). A wait that ended with
  nothing is a dashed orange stretch of the client's lane; the server's exit
  is a red ✕ on its lane, which stops there.
- Gaps are drawn to a logarithmic scale (a 2 ms pause is a few pixels, a 2 s
  silence a long stretch) and those over 10 ms are labelled in the margin.
- The check's verdict point — the chunk with the first differing byte, or
  where the missing byte should have come — is shaded red and explained.
- A chunk that belongs to another client (cross-talk) is drawn in that
  client's colour, dashed, to the client that received it.
- Every event carries `data-kind`, `data-conn`, `data-size`, `data-t` and
  `data-index` (its index in the wire log's events), so a test can match the
  picture against the log.
- Every text is escaped; server bytes appear only as sizes, hex or printable
  ASCII (harness.evidence.timeline.preview).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape
from typing import Any

from harness.evidence import timeline, wirelog

FONT = 11
CHAR_W = 6.7  # average advance of the monospace font at FONT px
ROW = 18
HEADER_H = 46
LINE = 13  # a label's second line


@dataclass(frozen=True)
class Layout:
    """Where things go across: the gap margin, the lanes, the label column."""

    gutter: int           # the left margin, for gap durations
    lane_gap: int         # between client lanes
    server_gap: int       # from the last client lane to the server's
    label_chars: int      # the label column's width, in characters
    label_lines: int      # lines a label may take
    header_w: int         # a client lane's header box
    header_font: float
    preview: int          # bytes of a chunk shown in its label


#: For a screen or a page: one-line labels beside the lanes.
WIDE = Layout(gutter=62, lane_gap=70, server_gap=130, label_chars=62, label_lines=1, header_w=64, header_font=11,
              preview=12)
#: For a phone: lanes closer together, labels in a narrow column on two lines.
NARROW = Layout(gutter=54, lane_gap=50, server_gap=72, label_chars=27, label_lines=2, header_w=48, header_font=9,
                preview=8)
#: Pixels per decade of a gap (in ms), and at most this much for one gap.
GAP_SCALE = 15.0
GAP_MAX = 80.0
#: Gaps this long or longer are labelled in the margin.
LABELLED_GAP = 0.010
#: Rows drawn at most (a window around the verdict, and the first few).
MAX_ROWS = 160
FIRST_ROWS = 12
COLOURS = ("#1565c0", "#00897b", "#6a1b9a", "#ad5a00", "#2e7d32", "#c2185b")
SERVER = "#424242"
RED = "#c62828"
ORANGE = "#e65100"
GREY = "#757575"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean(text: Any) -> str:
    """Escaped for HTML and XML, control characters shown as \\xNN."""
    return escape(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text)), quote=True)


def _rows(events: list[dict[str, Any]], verdict: int | None) -> list[int | None]:
    """Indices of the events to draw; None where some were left out."""
    if len(events) <= MAX_ROWS:
        return list(range(len(events)))
    focus = verdict if verdict is not None else len(events) - 1
    end = min(len(events), focus + 30)
    start = max(FIRST_ROWS, end - (MAX_ROWS - FIRST_ROWS))
    return list(range(FIRST_ROWS)) + [None] + list(range(start, end)) + ([None] if end < len(events) else [])


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return [line[: width - 1] + "…" if len(line) > width else line for line in lines] or [""]


def _fit(text: str, width: int, lines: int) -> list[str]:
    """`text` in at most `lines` lines of `width` characters, the last cut with "…" if need be."""
    if len(text) <= width:
        return [text]
    wrapped = _wrap(text, width) if lines > 1 else [text]
    if len(wrapped) > lines or len(wrapped[-1]) > width:
        kept = wrapped[: lines - 1]
        rest = " ".join(wrapped[lines - 1 :]) if lines > 1 else text
        wrapped = kept + [rest[: width - 1] + "…" if len(rest) > width else rest]
    return wrapped


def _gap_height(seconds: float) -> float:
    if seconds <= 0:
        return 0.0
    return min(GAP_MAX, GAP_SCALE * math.log10(1 + seconds * 1000))


def _arrow(x1: float, x2: float, y: float, colour: str, *, dashed: bool = False, width: float = 1.6,
           stop: bool = False) -> str:
    """A horizontal arrow from x1 to x2 at y (head at x2, or a ✕ there if `stop`)."""
    direction = 1 if x2 > x1 else -1
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    parts = [f'<line class="arrow" x1="{x1:.1f}" y1="{y:.1f}" x2="{x2 - direction * 2:.1f}" y2="{y:.1f}" '
             f'stroke="{colour}" stroke-width="{width}"{dash}/>']
    if stop:
        parts.append(f'<path d="M{x2 - 4:.1f} {y - 4:.1f}l8 8m0 -8l-8 8" stroke="{RED}" stroke-width="2"/>')
    else:
        parts.append(f'<path d="M{x2:.1f} {y:.1f}l{-direction * 8} -4v8z" fill="{colour}"/>')
    return "".join(parts)


def _tag(x: float, y: float, text: str, colour: str) -> str:
    """A small boxed word on an arrow (FIN, RST)."""
    w = len(text) * 6.2 + 6
    return (f'<rect x="{x - w / 2:.1f}" y="{y - 7:.1f}" width="{w:.1f}" height="13" rx="3" fill="#fff" '
            f'stroke="{colour}"/><text x="{x:.1f}" y="{y + 3:.1f}" text-anchor="middle" font-size="9" '
            f'font-weight="bold" fill="{colour}">{text}</text>')


def render(wire: dict[str, Any], *, server_label: str = "server", standalone: bool = False,
           title: str | None = None, layout: Layout = WIDE) -> str:
    """The SVG text of the sequence diagram of `wire`."""
    L = layout
    events: list[dict[str, Any]] = wire.get("events") or []
    connections = wire.get("connections") or []
    first = L.gutter + L.header_w / 2 + 4
    lane_x = {c["id"]: first + i * L.lane_gap for i, c in enumerate(connections)}
    colour = {c["id"]: COLOURS[i % len(COLOURS)] for i, c in enumerate(connections)}
    server_x = first + max(0, len(connections) - 1) * L.lane_gap + L.server_gap
    label_x = server_x + 18
    width = label_x + int(L.label_chars * CHAR_W) + 12
    several = len(connections) > 1
    names = timeline.labels(wire)
    verdict = (wire.get("verdict") or {}).get("event")

    body: list[str] = []
    shading: list[str] = []
    y = HEADER_H + 14.0
    last_t: float | None = None
    last_y: dict[int, float] = {}
    server_end: float | None = None
    for index in _rows(events, verdict):
        if index is None:
            body.append(f'<text x="{L.gutter}" y="{y + 4:.1f}" fill="{GREY}" font-style="italic">'
                        f'⋯ events left out of this picture ⋯</text>')
            y += ROW
            last_t = None
            continue
        event = events[index]
        kind, t, conn = event["kind"], event["t"], event.get("conn")
        if last_t is not None and kind != wirelog.GAP:
            gap = _gap_height(t - last_t)
            if t - last_t >= LABELLED_GAP:
                middle = y + gap / 2 - ROW / 2 + 3
                body.append(f'<text x="{L.gutter - 6}" y="{middle:.1f}" text-anchor="end" fill="{GREY}" font-size="10">'
                            f'+{clean(timeline.seconds(t - last_t))}</text>')
            y += gap
        cx = lane_x.get(conn, first)
        col = colour.get(conn, SERVER)
        attrs = (f'class="event" data-index="{index}" data-kind="{clean(kind)}" data-t="{t}"'
                 + (f' data-conn="{conn}"' if conn is not None else "")
                 + (f' data-size="{event["size"]}"' if "size" in event else ""))
        shapes = ""
        text = timeline.event_text(wire, index)
        if kind == wirelog.SEND:
            shapes = _arrow(cx, server_x, y, col, width=2 if verdict == index else 1.6)
            text += f"  {timeline.preview(event['head'], L.preview)}"
        elif kind == wirelog.RECV:
            origin = event.get("from")
            shapes = _arrow(server_x, cx, y, colour.get(origin, col) if origin is not None else col,
                            dashed=origin is not None, width=2.4 if verdict == index else 1.6)
            text += f"  {timeline.preview(event['head'], L.preview)}"
        elif kind == wirelog.CONNECT:
            shapes = (f'<circle cx="{cx}" cy="{y:.1f}" r="3.5" fill="{col}"/>'
                      + _arrow(cx, server_x, y, "#9e9e9e", dashed=True, width=1))
        elif kind == wirelog.REFUSED:
            shapes = _arrow(cx, server_x, y, RED, dashed=True, width=1.2, stop=True)
        elif kind == wirelog.SEND_FAILED:
            shapes = _arrow(cx, (cx + server_x) / 2, y, RED, width=1.6, stop=True)
        elif kind in (wirelog.CLIENT_FIN, wirelog.CLIENT_RST):
            red = kind == wirelog.CLIENT_RST
            shapes = _arrow(cx, server_x, y, RED if red else SERVER, width=1.2) + \
                _tag((cx + server_x) / 2, y, "RST" if red else "FIN", RED if red else SERVER)
        elif kind in (wirelog.SERVER_FIN, wirelog.SERVER_RST):
            red = kind == wirelog.SERVER_RST
            shapes = _arrow(server_x, cx, y, RED if red else SERVER, width=1.2) + \
                _tag((cx + server_x) / 2, y, "RST" if red else "FIN", RED if red else SERVER)
        elif kind == wirelog.SILENCE:
            top = last_y.get(conn, y - ROW)
            shapes = (f'<line x1="{cx}" y1="{top + 4:.1f}" x2="{cx}" y2="{y:.1f}" stroke="{ORANGE}" '
                      f'stroke-width="4" stroke-dasharray="3 3" opacity="0.85"/>'
                      f'<circle cx="{cx}" cy="{y:.1f}" r="4" fill="#fff" stroke="{ORANGE}" stroke-width="2"/>')
        elif kind == wirelog.SERVER_EXIT:
            server_end = y
            shapes = f'<path d="M{server_x - 7} {y - 7:.1f}l14 14m0 -14l-14 14" stroke="{RED}" stroke-width="3"/>'
        elif kind == wirelog.GAP:
            shapes = (f'<path d="M{L.gutter} {y:.1f}' + "".join("l6 -4l6 4" for _ in range(int((server_x - L.gutter) / 12)))
                      + f'" fill="none" stroke="{GREY}"/>')
        if kind == wirelog.NOTE:
            lines = _wrap(text, L.label_chars)
            body.append(f'<g {attrs}>' + "".join(
                f'<text x="{label_x}" y="{y + 4 + i * 14:.1f}" fill="{GREY}" font-style="italic">{clean(line)}</text>'
                for i, line in enumerate(lines)) + "</g>")
            y += ROW + (len(lines) - 1) * 14
            last_t = t
            continue
        who = f"{names.get(conn, '')} " if several and conn is not None else ""
        label = _fit(f"{t:.3f} {who}{text}", L.label_chars, L.label_lines)
        extra = (len(label) - 1) * LINE
        label_colour = RED if kind in (wirelog.REFUSED, wirelog.SEND_FAILED, wirelog.CLIENT_RST,
                                       wirelog.SERVER_RST, wirelog.SERVER_EXIT) else "#212121"
        body.append(f'<g {attrs}>{shapes}' + "".join(
            f'<text x="{label_x}" y="{y + 4 + i * LINE:.1f}" fill="{label_colour}">{clean(line)}</text>'
            for i, line in enumerate(label)) + "</g>")
        if index == verdict:
            lines = _wrap("✗ " + timeline.verdict_text(wire), L.label_chars)
            shading.append(f'<rect class="verdict" x="{L.gutter}" y="{y - ROW / 2:.1f}" width="{width - L.gutter - 2}" '
                           f'height="{ROW * (1 + len(lines)) + extra - 2}" rx="3" fill="#ffebee" stroke="#ef9a9a"/>')
            for i, line in enumerate(lines):
                body.append(f'<text class="verdict-text" x="{label_x}" y="{y + 4 + extra + ROW * (i + 1):.1f}" '
                            f'fill="{RED}" font-weight="bold">{clean(line)}</text>')
            y += ROW * len(lines)
        y += extra
        if conn is not None:
            last_y[conn] = y
        last_t = t
        y += ROW
    height = y + 10

    lanes = []
    for c in connections:
        x, col = lane_x[c["id"]], colour[c["id"]]
        port = f":{c['port']}" if c.get("port") else c.get("transport", "")
        lanes.append(f'<line x1="{x}" y1="{HEADER_H - 4}" x2="{x}" y2="{height - 6:.1f}" stroke="{col}" '
                     f'stroke-opacity="0.35" stroke-width="1.5"/>'
                     f'<rect x="{x - L.header_w / 2}" y="6" width="{L.header_w}" height="{HEADER_H - 12}" rx="5" '
                     f'fill="#fff" stroke="{col}"/><text x="{x}" y="21" text-anchor="middle" font-weight="bold" '
                     f'font-size="{L.header_font}" fill="{col}">{clean(c["label"])}</text>'
                     f'<text x="{x}" y="34" text-anchor="middle" fill="{GREY}" font-size="9.5">{clean(port)}</text>')
    bottom = server_end if server_end is not None else height - 6
    lanes.append(f'<line x1="{server_x}" y1="{HEADER_H - 4}" x2="{server_x}" y2="{bottom:.1f}" stroke="{SERVER}" '
                 f'stroke-opacity="0.45" stroke-width="2.5"/>'
                 f'<rect x="{server_x - 40}" y="6" width="80" height="{HEADER_H - 12}" rx="5" fill="#f5f5f5" '
                 f'stroke="{SERVER}"/><text x="{server_x}" y="21" text-anchor="middle" font-weight="bold" '
                 f'fill="{SERVER}">server</text><text x="{server_x}" y="34" text-anchor="middle" fill="{GREY}" '
                 f'font-size="9.5">{clean(server_label)}</text>')
    hidden = wire.get("connections_not_shown")
    if hidden:
        body.append(f'<text x="{label_x}" y="{height - 4:.1f}" fill="{GREY}" font-style="italic">'
                    f'({hidden} other connections not shown)</text>')
        height += 8
    name = title or "sequence diagram of the exchange"
    namespace = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    return (f'<svg{namespace} class="sequence {"narrow" if L is NARROW else "wide"}" viewBox="0 0 {width} {height:.0f}" width="{width}" '
            f'height="{height:.0f}" role="img" aria-label="{clean(name)}" font-size="{FONT}" '
            f'font-family="ui-monospace, \'DejaVu Sans Mono\', Menlo, Consolas, monospace">'
            f'<title>{clean(name)}</title><rect width="100%" height="100%" fill="#fff"/>'
            + "".join(shading) + "".join(lanes) + "".join(body) + "</svg>")

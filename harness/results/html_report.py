"""The HTML report (`--html FILE`): one self-contained page a person reads.

Rules:
- Self-contained: inline CSS and inline SVG, no script, no font, image or link
  that would fetch anything; it opens from a mail attachment or an
  autograder's artifact folder, offline.
- Everything that came from the server (its output, its bytes) or from the
  command line is escaped (`sequence_diagram.clean`): a server printing
  `<script>` shows the text `<script>`.
- Reads on a phone (one column; each diagram is drawn twice, wide and
  narrow, and CSS shows the narrow one on a small screen; a diagram still too
  wide scrolls inside its own box, the page never does) and in print (no
  scroll boxes, a diagram kept on one page where it fits).
- Content: the run's summary; each failure first, in full (the check's
  description and expectation, its explanation, the sequence diagram of its
  wire log, the bytes expected and received with the hex diff, the server's
  output); then every check with its description, expectation and outcome.

Pure: a `Report` in, text out; `write` puts it in a file atomically.
"""

from __future__ import annotations

import base64
import os
from typing import Iterable

from harness import __version__
from harness.checks import CATALOGUE, load_catalogue
from harness.evidence.sequence_diagram import NARROW, WIDE, clean
from harness.evidence.sequence_diagram import render as render_diagram
from harness.results.report import CheckResult, Report
from harness.system.safe_files import write_atomically

#: Outcomes told in full, in this order.
TOLD = ("failed", "error", "warning", "info")
WORDS = {"passed": "passed", "failed": "failed", "warning": "warning (recommended)", "skipped": "skipped",
         "error": "error (not run)", "info": "informational"}

CSS = """
:root{color-scheme:light;--ink:#212121;--mute:#616161;--line:#e0e0e0;--bg:#fafafa}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"DejaVu Sans",sans-serif}
main{max-width:64rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.2rem 0 .6rem}h2{font-size:1.25rem;margin:1.6rem 0 .6rem}
h3{font-size:1.05rem;margin:0 0 .4rem;overflow-wrap:anywhere}h4{font-size:.95rem;margin:1rem 0 .3rem}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.6rem;margin:.3rem 0;
white-space:pre-wrap;overflow-wrap:anywhere}
pre.hexdump{white-space:pre;overflow-x:auto;overflow-wrap:normal}
.meta{color:var(--mute);margin:.2rem 0;overflow-wrap:anywhere}
.summary{display:flex;flex-wrap:wrap;gap:.4rem;padding:0;margin:.6rem 0;list-style:none}
.badge{display:inline-block;border-radius:1rem;padding:.05rem .6rem;font-size:.85rem;font-weight:600;
border:1px solid currentColor;white-space:nowrap}
.badge.passed{color:#1b5e20}.badge.failed{color:#b71c1c}.badge.warning{color:#8a5300}
.badge.error{color:#6a1b9a}.badge.info{color:#0d47a1}.badge.skipped{color:#616161}.startup{color:#b71c1c}
article{background:#fff;border:1px solid var(--line);border-left:5px solid #b71c1c;border-radius:8px;
padding:.8rem 1rem;margin:.8rem 0}
article.warning{border-left-color:#e0a100}article.info{border-left-color:#1565c0}
article.error{border-left-color:#6a1b9a}
.message{white-space:pre-wrap;overflow-wrap:anywhere;margin:.4rem 0}
.diagram{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:6px;margin:.4rem 0}
.diagram svg{display:block;width:100%;min-width:36rem;height:auto}.diagram svg.narrow{display:none;min-width:0}
figure{margin:.6rem 0}figcaption{color:var(--mute);font-size:.85rem}
ol.checks{list-style:none;padding:0;margin:0}
ol.checks li{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.5rem .8rem;margin:.35rem 0}
ol.checks .id{font-weight:600;overflow-wrap:anywhere}
ol.checks p{margin:.15rem 0;color:var(--mute);font-size:.9rem}
a{color:#0d47a1}
@media (max-width:40rem){main{padding:.5rem}article{padding:.6rem}
.diagram svg.wide{display:none}.diagram svg.narrow{display:block}}
@media print{body{background:#fff;font-size:11pt}main{max-width:none;padding:0}
.diagram{overflow:visible;border:0}.diagram svg{min-width:0;max-width:100%}
figure,pre.hexdump{break-inside:avoid}pre.hexdump{white-space:pre-wrap}
.diagram svg.wide{display:block}.diagram svg.narrow{display:none}
article{break-inside:auto;border-left-width:3px}a{color:inherit;text-decoration:none}}
"""


def _anchor(check_id: str) -> str:
    return "check-" + "".join(ch if ch.isalnum() else "-" for ch in check_id)


def _badge(outcome: str) -> str:
    return f'<span class="badge {clean(outcome)}">{clean(WORDS.get(outcome, outcome))}</span>'


def server_label(report: Report) -> str:
    return f":{report.server.port}" if report.server.port else "server"


def _bytes_block(result: CheckResult) -> str:
    parts = []
    for label, value in (("expected", result.expected), ("received", result.received)):
        if value is not None:
            shown = value if len(value) <= 1200 else value[:1200] + " …"
            parts.append(f"<h4>{label}</h4><pre>{clean(shown if value else '(nothing)')}</pre>")
    if result.detail:
        parts.append(f'<h4>first difference</h4><pre class="hexdump">{clean(result.detail)}</pre>')
    return "".join(parts)


def check_card(result: CheckResult, report: Report, shown_outputs: dict[str, str] | None = None) -> str:
    """One failing (or warning, informational) check told in full. `shown_outputs`
    (server output -> the check id it was shown under) keeps a repeated output to a link."""
    check = CATALOGUE.get(result.id.partition("[")[0])
    parts = [f'<article class="{clean(result.outcome)}" id="{_anchor(result.id)}">',
             f"<h3>{_badge(result.outcome)} <code>{clean(result.id)}</code></h3>"]
    if check is not None:
        parts.append(f'<p class="meta">{clean(check.description)}</p>'
                     f'<p class="meta"><b>Expected:</b> {clean(check.expectation)}</p>')
    if result.message:
        parts.append(f'<p class="message">{clean(result.message)}</p>')
    if result.wire:
        # Two drawings of one picture: CSS shows the narrow one on a phone, the wide one elsewhere.
        drawings = "".join(render_diagram(result.wire, server_label=server_label(report), layout=layout,
                                          title=f"the exchange of {result.id}") for layout in (WIDE, NARROW))
        parts.append(f'<figure><div class="diagram">{drawings}</div><figcaption>What moved on the wire: time runs down (gaps on a logarithmic scale, '
                     f'labelled in the margin); → client to server, ← server to client; the red band is where '
                     f'the check failed.</figcaption></figure>')
    parts.append(_bytes_block(result))
    earlier = (shown_outputs or {}).get(result.server_output or "")
    if earlier:
        parts.append(f'<h4>the server\'s output</h4><p class="meta">the same as under '
                     f'<a href="#{_anchor(earlier)}">{clean(earlier)}</a></p>')
    elif result.server_output:
        parts.append(f"<h4>the server's output</h4><pre>{clean(result.server_output)}</pre>")
        if shown_outputs is not None:
            shown_outputs[result.server_output] = result.id
    parts.append("</article>")
    return "".join(parts)


#: A diagram larger than this is not embedded in a Gradescope result (its JSON stays small).
EMBED_LIMIT = 200_000


def embedded_diagrams(results: Iterable[CheckResult], report: Report) -> str:
    """The diagrams of `results` that did not pass, as <img> tags with data: URIs (for
    Gradescope's html output, which shows no inline SVG and can reach no file); "" if none."""
    tags = []
    for result in results:
        if result.outcome in TOLD and result.wire:
            svg = render_diagram(result.wire, server_label=server_label(report), standalone=True,
                                 title=f"the exchange of {result.id}")
            if len(svg) <= EMBED_LIMIT:
                data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
                tags.append(f'<p><img style="max-width:100%" alt="{clean("sequence diagram of " + result.id)}" '
                            f'src="data:image/svg+xml;base64,{data}"></p>')
    return "".join(tags)


def page(title: str, body: str) -> str:
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{clean(title)}</title><style>{CSS}</style></head><body><main>{body}</main></body></html>\n")


def render(report: Report) -> str:
    load_catalogue()
    summary = report.summary()
    counts = [(key, summary[plural]) for key, plural in (("passed", "passed"), ("failed", "failed"),
                                                         ("warning", "warnings"), ("error", "errors"),
                                                         ("info", "info"), ("skipped", "skipped"))]
    chips = "".join(f'<li class="badge {key}">{count} {WORDS[key].split(" ")[0]}</li>' for key, count in counts if count)
    server = report.server
    head = [f"<h1>harness report · {clean(report.protocol)}</h1>",
            f'<p class="meta">server: <code>{clean(" ".join(server.command))}</code></p>']
    if server.listening or server.port:
        head.append(f'<p class="meta">listening on {clean(server.listening or server.port)}'
                    + (f" ({clean(server.port_source)} port)" if server.port_source else "")
                    + (f", ready in {server.startup_s:.2f} s" if server.startup_s is not None else "") + "</p>")
    if server.startup_error:
        head.append(f'<p class="message startup">{clean(report.why_not_run())}</p>')
    head.append(f'<ul class="summary">{chips}</ul>'
                f'<p class="meta">{len(report.checks)} checks in {summary["duration_s"]:.2f} s · harness {clean(__version__)}'
                + (" · interrupted: checks that did not run are missing" if report.interrupted else "") + "</p>")
    for note in report.notes:
        head.append(f'<p class="meta">note: {clean(note)}</p>')
    told = sorted((r for r in report.checks if r.outcome in TOLD), key=lambda r: TOLD.index(r.outcome))
    body = ["<header>", *head, "</header>"]
    if told:
        body.append(f"<section><h2>Not passed ({len(told)})</h2>")
        shown_outputs: dict[str, str] = {}
        body += [check_card(result, report, shown_outputs=shown_outputs) for result in told]
        body.append("</section>")
    body.append('<section><h2>Every check</h2><ol class="checks">')
    for result in report.checks:
        check = CATALOGUE.get(result.id.partition("[")[0])
        name = (f'<a href="#{_anchor(result.id)}">{clean(result.id)}</a>' if result.outcome in TOLD
                else clean(result.id))
        item = [f'<li>{_badge(result.outcome)} <span class="id"><code>{name}</code></span> '
                f'<span class="meta">{result.duration_s:.2f} s</span>']
        if check is not None:
            item.append(f"<p>{clean(check.description)}</p><p><b>Expected:</b> {clean(check.expectation)}</p>")
        if result.outcome == "skipped" and result.message:
            item.append(f"<p>{clean(result.message)}</p>")
        body.append("".join(item) + "</li>")
    body.append("</ol></section>")
    failed = summary["failed"] + summary["errors"]
    title = f"harness · {report.protocol} · " + (f"{failed} not passed" if failed else "all passed")
    return page(title, "".join(body))


def write(report: Report, path: str | os.PathLike[str]) -> None:
    """Write atomically, so a reader never sees half a page."""
    write_atomically(path, render(report))

"""Regenerate docs/pictures/*.png: the sequence diagrams of the five classic bugs.

    python docs/make_pictures.py            # needs Debian's `chromium` on PATH

Each picture is one failing check of one buggy server from tests/servers/,
run with the harness's defaults, drawn alone (the diagram of the HTML report,
with the check's id and one line saying what the bug is).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import browser  # noqa: E402  (tests/browser.py)

from harness.results.html_report import page, server_label  # noqa: E402
from harness.results.report import CheckResult, Report, ServerInfo  # noqa: E402
from harness.evidence.sequence_diagram import clean, render  # noqa: E402

#: name, server, protocol, check, what the picture shows.
BUGS = (
    ("recv-1024", "echo_truncates_long_recv.py", "tcp-echo", "framing::coalesced_stream",
     "recv(1024) taken for one message: 60 messages leave in one 2,850-byte segment; the server echoes "
     "the first 1,024 bytes and drops the rest."),
    ("waits-for-eof", "tcp_wait_eof.py", "tcp-echo", "echo::prompt_reply",
     "The server collects until the client closes: 21 bytes go out and nothing comes back while the "
     "connection stays open."),
    ("one-client-at-a-time", "conc_iterative.py", "tcp-echo", "concurrency::idle_client_does_not_block",
     "One client at a time: client 2 gets nothing while client 1 stays connected; its echo arrives the "
     "moment client 1 closes."),
    ("cross-talk", "conc_shared_buffer.py", "tcp-echo", "concurrency::simultaneous_clients",
     "A global buffer shared by the connections: another client's bytes (the dashed arrow, in that "
     "client's colour) are sent to the client that received them."),
    ("short-recv4", "framed_recv_once.py", "tcp-framed", "framing::split_header",
     "header = recv(4) on a header split 1+3: the server's recv(4) gets 1 byte, struct.unpack raises, its "
     "thread dies and the connection closes."),
)
WIDTH = 860


def run_check(server: str, protocol: str, check: str, report: Path) -> dict:
    subprocess.run([sys.executable, "-m", "harness", "run", "--protocol", protocol, "--check", check,
                    "--json", str(report), "-q", str(ROOT / "tests" / "servers" / server), "{port}"],
                   cwd=report.parent, stdout=subprocess.DEVNULL, check=False, timeout=120)
    return json.loads(report.read_text())


def picture_page(data: dict, check: str, caption: str) -> str:
    result = next(CheckResult(**c) for c in data["checks"] if c["id"] == check)
    info = ServerInfo(**{k: v for k, v in data["server"].items() if k in ServerInfo.__dataclass_fields__})
    report = Report(protocol=data["protocol"], server=info, checks=[result])
    diagram = render(result.wire, server_label=server_label(report), title=f"the exchange of {check}")
    return page(check, f'<article class="failed"><h3><code>{clean(check)}</code></h3>'
                       f'<p class="message">{clean(caption)}</p><figure><div class="diagram">{diagram}</div>'
                       "</figure></article>")


def main() -> int:
    if browser.chromium() is None:
        print("no chromium on PATH", file=sys.stderr)
        return 2
    out = ROOT / "docs" / "pictures"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="harness-pictures-") as folder:
        for name, server, protocol, check, caption in BUGS:
            data = run_check(server, protocol, check, Path(folder) / f"{name}.json")
            html = Path(folder) / f"{name}.html"
            html.write_text(picture_page(data, check, caption), encoding="utf-8")
            browser.screenshot(html, out / f"{name}.png", WIDTH)
            print(f"docs/pictures/{name}.png  ({check} of tests/servers/{server})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

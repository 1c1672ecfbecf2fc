"""Headless Chromium for the tests and the docs' pictures: what a person sees
of an HTML report (layout measured after rendering, and screenshots).

The report itself has no script; `measure` renders a copy with a small
inline script appended that writes what the layout gave (page width against
the window, each diagram's size, each diagram event's position) into the DOM,
and reads it back with `--dump-dom`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1")
TIMEOUT = 90

MEASURE = """<script>
(function () {
  var d = document.documentElement;
  function box(e) { var r = e.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height}; }
  var scrollers = Array.prototype.slice.call(document.querySelectorAll('.diagram, pre.hexdump'));
  var overflowing = Array.prototype.slice.call(document.querySelectorAll('body *')).filter(function (e) {
    if (scrollers.some(function (s) { return s !== e && s.contains(e); })) return false;
    return e.getBoundingClientRect().right > window.innerWidth + 0.5;
  }).map(function (e) { return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + (e.getAttribute('class') || ''); });
  var shown = Array.prototype.slice.call(document.querySelectorAll('svg.sequence')).filter(function (svg) {
    return svg.getBoundingClientRect().width > 0;  // the drawing CSS shows at this width
  });
  var diagrams = shown.map(function (svg) {
    var article = svg.closest('article');
    return {check: article ? article.id : null, box: box(svg), layout: svg.getAttribute('class'),
      events: Array.prototype.slice.call(svg.querySelectorAll('g.event')).map(function (g) {
        return {index: +g.dataset.index, kind: g.dataset.kind, conn: g.dataset.conn ? +g.dataset.conn : null,
                size: g.dataset.size ? +g.dataset.size : null, t: +g.dataset.t, box: box(g),
                arrows: g.querySelectorAll('.arrow').length};
      }),
      verdict: Array.prototype.slice.call(svg.querySelectorAll('rect.verdict')).map(box)};
  });
  var out = document.createElement('pre');
  out.id = 'harness-measure';
  out.textContent = JSON.stringify({innerWidth: window.innerWidth, scrollWidth: d.scrollWidth,
    bodyScrollWidth: document.body.scrollWidth, scrollHeight: d.scrollHeight, overflowing: overflowing,
    diagrams: diagrams, scripts: document.scripts.length});
  document.body.appendChild(out);
})();
</script>"""


def chromium() -> str | None:
    """Debian's `chromium` (or another Chromium/Chrome on PATH)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str], width: int, height: int) -> subprocess.CompletedProcess[str]:
    binary = chromium()
    assert binary is not None, "no Chromium on PATH"
    profile = tempfile.mkdtemp(prefix="harness-chromium-")
    try:
        return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", *args],
                              capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def measure(html_file: Path, width: int, height: int = 900) -> dict:
    """The layout of `html_file` in a `width`-pixel window (see MEASURE)."""
    text = html_file.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="harness-measure-") as folder:
        copy = Path(folder) / "page.html"
        copy.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
        done = _run(["--dump-dom", copy.as_uri()], width, height)
    found = re.search(r'<pre id="harness-measure">(.*?)</pre>', done.stdout, re.S)
    assert found, f"no measurement in Chromium's DOM dump; stderr:\n{done.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
                      .replace("&amp;", "&"))


def screenshot(html_file: Path, png: Path, width: int, height: int | None = None) -> Path:
    """A PNG of the page at `width`; the whole page's height unless `height` is given."""
    if height is None:
        height = int(measure(html_file, width, height=100)["scrollHeight"]) + 2
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        os.unlink(png)
    done = _run([f"--screenshot={png}", html_file.as_uri()], width, height)
    assert png.exists(), f"Chromium wrote no screenshot; stderr:\n{done.stderr[-2000:]}"
    return png

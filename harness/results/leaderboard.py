"""The speed suite's figures as a Gradescope leaderboard.

Gradescope's results.json may carry `"leaderboard": [{"name", "value",
"order"}]`; each entry is a column of the assignment's leaderboard. Pure: a
report in, a list out. Only figures the run measured appear; a server that
could not be measured simply has no entry (Gradescope then shows a blank).
"""

from __future__ import annotations

from typing import Any

from harness.results.report import Report

#: (check id, figure, column name, order): "desc" when higher is better.
COLUMNS = (
    ("speed::throughput", "mb_s", "Throughput (MB/s)", "desc"),
    ("speed::throughput", "ratio", "Throughput vs reference", "desc"),
    ("speed::latency[1 client]", "p50_ms", "Latency p50, 1 client (ms)", "asc"),
    ("speed::latency[50 clients]", "p99_ms", "Latency p99, 50 clients (ms)", "asc"),
    ("speed::udp_rate", "top_load_reply_rate", "UDP replies/s under overload", "desc"),
    ("speed::udp_rate", "ratio", "UDP rate vs reference", "desc"),
)


def leaderboard(report: Report) -> list[dict[str, Any]]:
    """Leaderboard entries for every speed figure in the report."""
    figures = {result.id: result.figures or {} for result in report.checks}
    entries = []
    for check_id, key, name, order in COLUMNS:
        value = figures.get(check_id, {}).get(key)
        if isinstance(value, (int, float)):
            entries.append({"name": name, "value": round(float(value), 3), "order": order})
    return entries

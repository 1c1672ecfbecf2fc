"""Benchmark (not a test): what a buggy server costs, next to a correct one.

    python benchmarks/bench_buggy.py [--harness CMD] [--baseline CMD] [--only NAME ...] [--out FILE.json]

Times the full default `harness run` (every suite that applies) of each buggy
server in `tests/servers/` and of the bundled reference server of the same
protocol, and prints one row per buggy server: its time, the reference's, the
ratio, and the verdict counts. A server that is slow on purpose is also
compared with its fixed twin (benchmarks/twins/: the same sleeps, the bug
fixed), which shows what its bug costs apart from its sleeps. `--out` keeps every check's outcome, so two
runs (before / after a change) can be compared for verdict changes with
`--compare OLD.json NEW.json`.

`--baseline CMD` (another harness, e.g. a checkout before a change) runs
each server under both, back to back, so that a shared machine's changing
load falls on both alike; the table then shows both times and both ratios.

Only loopback traffic; one run at a time; each run bounded by --limit seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ROOT / "tests" / "servers"

#: Buggy servers and how they are run: (file, protocol, extra options).
#: Left out: correct servers in other styles (tcp_echo_*, *_asyncio, *.js),
#: start-up failures (they cost their start-up timeout by design), the hostile
#: servers (containment tests) and the speed suite's slow servers (opt-in suite).
BUGGY: list[tuple[str, str, tuple[str, ...]]] = [
    ("conc_crash_on_reset.py", "tcp-echo", ()),
    ("conc_asyncio_blocking_sleep.py", "tcp-echo", ()),
    ("conc_fork_no_wait.py", "tcp-echo", ()),
    ("conc_framed_blocking_read.py", "tcp-framed", ()),
    ("conc_framed_iterative.py", "tcp-framed", ()),
    ("conc_framed_shared_buffer.py", "tcp-framed", ()),
    ("conc_framed_global_buffer.py", "tcp-framed", ()),
    ("conc_exits_after_n.py", "tcp-echo", ()),
    ("conc_iterative.py", "tcp-echo", ()),
    ("conc_pool_of_two.py", "tcp-echo", ()),
    ("conc_reads_whole_line.py", "tcp-echo", ()),
    ("conc_shared_buffer.py", "tcp-echo", ()),
    ("conc_slow_leaks.py", "tcp-echo", ()),
    ("conc_spin_on_empty.py", "tcp-echo", ()),
    ("conc_udp_first_client.py", "udp-echo", ()),
    ("conc_udp_merges_datagrams.py", "udp-echo", ()),
    ("echo_adds_newline.py", "tcp-echo", ()),
    ("echo_drops_pending_at_eof.py", "tcp-echo", ()),
    ("echo_one_recv_per_connection.py", "tcp-echo", ()),
    ("echo_send_while_client_waits.py", "tcp-echo", ()),
    ("echo_skips_blank_recv.py", "tcp-echo", ()),
    ("echo_truncates_long_recv.py", "tcp-echo", ()),
    ("file_blocking_send.py", "tcp-file", ()),
    ("file_missing_closes.py", "tcp-file", ()),
    ("file_one_request.py", "tcp-file", ()),
    ("file_recv_is_request.py", "tcp-file", ()),
    ("file_sequential.py", "tcp-file", ()),
    ("file_text_mode.py", "tcp-file", ()),
    ("file_traversal.py", "tcp-file", ()),
    ("file_waits_for_crlf.py", "tcp-file", ()),
    ("file_spins_on_eof.py", "tcp-file", ()),
    ("framed_native_int.py", "tcp-framed", ()),
    ("framed_one_recv_per_frame.py", "tcp-framed", ()),
    ("framed_recv_once.py", "tcp-framed", ()),
    ("framed_truncates_64k.py", "tcp-framed", ()),
    ("framed_zero_length_closes.py", "tcp-framed", ()),
    ("framed_skips_empty_frame.py", "tcp-framed", ()),
    ("framed_eight_byte_header.py", "tcp-framed", ()),
    # Its 2 s sleep before each reply is the default reply timeout: run as its docstring says (5 s), else
    # whether a reply makes it in time is a race between two equal clocks.
    ("seed_001_tcp_hello.py", "tcp-hello", ("--hello-mode", "unframed", "--reply-timeout", "5")),
    ("seed_001_udp_hello.py", "udp-hello", ()),
    ("shut_fork_orphans.py", "tcp-echo", ()),
    ("shut_ignores_sigterm.py", "tcp-echo", ()),
    ("shut_no_reuseaddr.py", "tcp-echo", ()),
    ("shut_nondaemon_threads.py", "tcp-echo", ()),
    ("shut_udp_ignores_sigterm.py", "udp-echo", ()),
    ("shut_udp_one_datagram.py", "udp-echo", ()),
    ("tcp_decode_utf8.py", "tcp-echo", ()),
    ("tcp_hello_empty_line_closes.py", "tcp-hello", ()),
    ("tcp_hello_exit_stops_server.py", "tcp-hello", ()),
    ("tcp_hello_latin1.py", "tcp-hello", ()),
    ("tcp_hello_one_at_a_time.py", "tcp-hello", ()),
    ("tcp_hello_recv_is_line.py", "tcp-hello", ()),
    ("tcp_hello_wrong_greeting.py", "tcp-hello", ()),
    ("tcp_hello_spins_on_eof.py", "tcp-hello", ()),
    ("tcp_never_closes.py", "tcp-echo", ()),
    ("tcp_single_client.py", "tcp-echo", ()),
    ("tcp_upper.py", "tcp-echo", ()),
    ("tcp_wait_eof.py", "tcp-echo", ()),
    ("tcp_wait_newline.py", "tcp-echo", ()),
    ("udp_decode_utf8.py", "udp-echo", ()),
    ("udp_hello_stop_on_empty.py", "udp-hello", ()),
    ("udp_hello_polls.py", "udp-hello", ()),
    ("udp_ignores_empty.py", "udp-echo", ()),
    ("udp_replies_from_other_port.py", "udp-echo", ()),
    ("udp_silent.py", "udp-echo", ()),
    ("udp_strips.py", "udp-echo", ()),
    ("udp_answers_twice.py", "udp-echo", ()),
    ("udp_stop_on_empty.py", "udp-echo", ()),
    ("udp_truncate_1024.py", "udp-echo", ()),
    ("udp_upper.py", "udp-echo", ()),
]

#: Buggy servers that are slow on purpose (their own sleeps exceed 4× the reference's whole run),
#: each with its fixed twin in benchmarks/twins/: the same server, the same sleeps, only the bug
#: fixed. The ratio to the twin is the time the bug costs; the ratio to the reference adds the
#: time the server spends sleeping, which any harness must wait for.
TWINS = {"seed_001_tcp_hello.py": "hello_slow_unframed.py",
         "echo_drops_pending_at_eof.py": "echo_slow_select.py"}
TWIN_FOLDER = ROOT / "benchmarks" / "twins"

REFERENCE = {"tcp-echo": "tcp_echo.py", "udp-echo": "udp_echo.py", "tcp-framed": "tcp_framed.py",
             "tcp-hello": "tcp_hello.py", "udp-hello": "udp_hello.py", "tcp-file": "tcp_file.py"}


def timed_run(harness: list[str], protocol: str, options: tuple[str, ...], server: Path,
              limit: float) -> dict:
    """One full default run; its wall time, exit code and every check's outcome."""
    with tempfile.TemporaryDirectory(prefix="bench-buggy-") as tmp:
        report = Path(tmp) / "report.json"
        argv = [*harness, "run", "-q", "--protocol", protocol, *options, "--json", str(report), str(server), "{port}"]
        started = time.monotonic()
        try:
            code = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp,
                                  timeout=limit).returncode
        except subprocess.TimeoutExpired:
            code = None
        elapsed = time.monotonic() - started
        checks = {}
        if report.exists():
            data = json.loads(report.read_text())
            checks = {c["id"]: c["outcome"] for c in data.get("checks", [])}
    return {"seconds": round(elapsed, 2), "exit": code, "checks": checks}


def reference_path(protocol: str) -> Path:
    return ROOT / "reference_servers" / REFERENCE[protocol]


def table(results: dict) -> str:
    lines = [f"| server | protocol | time (s) | reference (s) | ratio | failed/warned of checks |",
             "|---|---|---:|---:|---:|---|"]
    for name, row in results["servers"].items():
        ref = results["references"][row["protocol"]]["seconds"]
        outcomes = list(row["checks"].values())
        bad = sum(o in ("failed", "error") for o in outcomes)
        warned = sum(o == "warning" for o in outcomes)
        lines.append(f"| {name} | {row['protocol']} | {row['seconds']:.1f} | {ref:.1f} | "
                     f"{row['seconds'] / ref:.1f}× | {bad}/{warned} of {len(outcomes)} |")
    worst = max((row["seconds"] / results["references"][row["protocol"]]["seconds"]
                 for row in results["servers"].values()), default=0.0)
    total = sum(row["seconds"] for row in results["servers"].values())
    lines.append(f"\nworst ratio {worst:.1f}×, all buggy servers {total:.0f} s")
    for name, twin in results.get("twins", {}).items():
        if name in results["servers"]:
            own = results["servers"][name]["seconds"]
            lines.append(f"{name}: {own:.1f} s, its fixed twin {TWINS[name]} {twin['seconds']:.1f} s: "
                         f"{own / twin['seconds']:.2f}× the twin")
    return "\n".join(lines)


def paired_table(results: dict) -> str:
    base = results["baseline"]
    lines = ["| server | protocol | before (s) | ratio before | after (s) | ratio after | verdicts changed |",
             "|---|---|---:|---:|---:|---:|---|"]
    worst_before = worst_after = 0.0
    for name, row in results["servers"].items():
        old = base["servers"][name]
        ref_after = results["references"][row["protocol"]]["seconds"]
        ref_before = base["references"][row["protocol"]]["seconds"]
        r_before, r_after = old["seconds"] / ref_before, row["seconds"] / ref_after
        worst_before, worst_after = max(worst_before, r_before), max(worst_after, r_after)
        changed = [c for c, o in row["checks"].items() if old["checks"].get(c, o) != o]
        lines.append(f"| {name} | {row['protocol']} | {old['seconds']:.1f} | {r_before:.1f}× | {row['seconds']:.1f} | "
                     f"{r_after:.1f}× | {', '.join(changed) or '-'} |")
    refs = ", ".join(f"{p} {base['references'][p]['seconds']:.1f} / {results['references'][p]['seconds']:.1f} s"
                     for p in results["references"])
    total_before = sum(r["seconds"] for r in base["servers"].values())
    total_after = sum(r["seconds"] for r in results["servers"].values())
    lines.append(f"\nreferences (before / after): {refs}")
    lines.append(f"worst ratio {worst_before:.1f}× before, {worst_after:.1f}× after; all buggy servers "
                 f"{total_before:.0f} s before, {total_after:.0f} s after")
    return "\n".join(lines)


def compare(old_file: Path, new_file: Path) -> int:
    old, new = json.loads(old_file.read_text()), json.loads(new_file.read_text())
    changes = 0
    for name, row in new["servers"].items():
        before = old["servers"].get(name, {}).get("checks", {})
        for check, outcome in row["checks"].items():
            if check in before and before[check] != outcome:
                changes += 1
                print(f"{name}: {check}: {before[check]} -> {outcome}")
    print(f"{changes} verdict change(s)")
    return 1 if changes else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--harness", default=None, help="the harness command (default: this Python's -m harness)")
    parser.add_argument("--baseline", default=None, help="another harness command, run back to back with this one")
    parser.add_argument("--only", action="append", help="only this server file (repeatable)")
    parser.add_argument("--limit", type=float, default=240.0, help="seconds one run may take")
    parser.add_argument("--out", type=Path, help="write every result as JSON")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"), help="list verdict changes")
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    harness = args.harness.split() if args.harness else [sys.executable, "-m", "harness"]
    chosen = [b for b in BUGGY if not args.only or b[0] in args.only]
    results: dict = {"references": {}, "servers": {}}
    baseline = args.baseline.split() if args.baseline else None
    if baseline:
        results["baseline"] = {"references": {}, "servers": {}}
    for protocol in sorted({p for _, p, _ in chosen}):
        if baseline:
            results["baseline"]["references"][protocol] = timed_run(baseline, protocol, (), reference_path(protocol),
                                                                    args.limit)
        results["references"][protocol] = timed_run(harness, protocol, (), reference_path(protocol), args.limit)
        print(f"reference {protocol}: {results['references'][protocol]['seconds']:.1f} s", flush=True)
    for name, protocol, options in chosen:
        if baseline:
            before = timed_run(baseline, protocol, options, SERVERS / name, args.limit)
            results["baseline"]["servers"][name] = {**before, "protocol": protocol}
        row = timed_run(harness, protocol, options, SERVERS / name, args.limit)
        row["protocol"] = protocol
        results["servers"][name] = row
        print(f"{name}: {row['seconds']:.1f} s (exit {row['exit']})", flush=True)
        if name in TWINS:
            twin = timed_run(harness, protocol, options, TWIN_FOLDER / TWINS[name], args.limit)
            results.setdefault("twins", {})[name] = twin
            print(f"  its fixed twin {TWINS[name]}: {twin['seconds']:.1f} s (exit {twin['exit']})", flush=True)
        if args.out:
            args.out.write_text(json.dumps(results, indent=1))
    print(paired_table(results) if baseline else table(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())

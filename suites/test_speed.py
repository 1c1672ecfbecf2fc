"""speed — how fast the server is, beside the bundled reference server measured
in the same run (seed 004 is titled a UDP speed test).

Informational by default (outcome "info", never a failure): the figures and
their ratio to the reference are the finding. `--speed-min-ratio R` (or the
assignment config) turns every ratio into a graded threshold: below R fails.
Opt-in: the suite runs only when asked for (`--suite speed`).

Rules:
- Each figure is measured twice, alternating reference and server (R S R S),
  and the better of each pair is kept: a shared 2-core machine is noisy, and
  noise only ever makes a run slower.
- Ratios read "higher is better": throughput and datagram rate are
  server / reference; latency is reference p50 / server p50.
- The load generator (harness/loadgen.py) reports its own CPU share, so the
  report shows that it outran the server rather than measured itself.
"""

from __future__ import annotations

import struct
import sys
from typing import Any, Callable, Iterator

import pytest

from harness import loadgen
from harness.checks import INFORMATIONAL, check
from harness.command import reference_server
from harness.errors import CheckFailed
from harness.launcher import Endpoint, ServerProcess, ServerSpec
from harness.settings import Settings

TCP = ("tcp-echo", "tcp-framed")
UDP = ("udp-echo",)
REFERENCE = {"tcp-echo": "tcp_echo", "tcp-framed": "tcp_framed", "udp-echo": "udp_echo"}
REFERENCE_LENGTH_FORMAT = "!I"
WARMUP = 0.2
UDP_LOADS = (5_000, 25_000, 50_000, 100_000, 150_000)
UDP_STEP = 0.4
PAYLOAD = 64 * 1024
MESSAGE = 32


@pytest.fixture
def reference(settings: Settings) -> Iterator[Endpoint]:
    """The bundled reference server for this protocol, started for this check."""
    path = reference_server(REFERENCE[settings.protocol])
    if not path.exists():
        pytest.skip(f"no bundled reference server for {settings.protocol} ({path.name})")
    instance = ServerProcess(ServerSpec(argv=(sys.executable, "-u", str(path), "{port}"),
                                        transport=settings.transport, host=settings.host,
                                        startup_timeout=settings.startup_timeout))
    try:
        yield instance.start()
    finally:
        instance.stop()


def unit(settings: Settings, length_format: str, payload: int) -> bytes:
    """One message of `payload` bytes as the protocol frames it."""
    body = bytes(range(256)) * (payload // 256) + b"\x00" * (payload % 256)
    if settings.protocol == "tcp-framed":
        return struct.pack(length_format, payload) + body
    return body


def best_of_alternating(measure: Callable[[Endpoint, str], Any], server: Endpoint, reference: Endpoint,
                        key: Callable[[Any], float], settings: Settings) -> tuple[Any, Any]:
    """Measure R S R S; keep the better (higher `key`) of each. A stall of the
    server under test is the finding of the check; of the reference, a harness error."""
    results: dict[str, list[Any]] = {"server": [], "reference": []}
    for _ in range(2):
        for role, endpoint, fmt in (("reference", reference, REFERENCE_LENGTH_FORMAT),
                                    ("server", server, settings.length_format)):
            try:
                results[role].append(measure(endpoint, fmt))
            except (loadgen.Stalled, OSError) as problem:
                if role == "reference":
                    raise RuntimeError(f"the bundled reference server stalled: {problem}") from None
                raise CheckFailed(f"the server could not be measured: {problem}") from None
    return max(results["server"], key=key), max(results["reference"], key=key)


def judge(inform: Callable[..., None], settings: Settings, message: str, figures: dict[str, Any]) -> None:
    """Report the figures; with --speed-min-ratio, a ratio below it fails the check."""
    threshold = settings.speed_min_ratio
    figures = {k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}
    if threshold is None:
        inform(message, figures=figures)
        return
    figures["min_ratio"] = threshold
    inform(message, figures=figures, graded=True)
    if figures["ratio"] < threshold:
        raise CheckFailed(f"{message} — below the required {threshold:g}× the reference (--speed-min-ratio)")


@check("speed::throughput", protocols=TCP, tier=INFORMATIONAL,
       description="one connection streams 64 KiB messages (frames) while reading the echo",
       expectation="informational: MB/s echoed, beside the reference server's (ratio = server / reference)")
def test_throughput(endpoint, reference, settings, inform):
    def measure(target: Endpoint, fmt: str) -> loadgen.Throughput:
        return loadgen.tcp_throughput(target, unit(settings, fmt, PAYLOAD) * 8, settings.speed_duration, WARMUP,
                                      settings.reply_timeout)

    server, ref = best_of_alternating(measure, endpoint, reference, lambda r: r.mb_s, settings)
    ratio = server.mb_s / ref.mb_s if ref.mb_s else 0.0
    judge(inform, settings,
          f"throughput {server.mb_s:,.0f} MB/s; reference {ref.mb_s:,.0f} MB/s: {ratio:.2f}× the reference "
          f"(load generator CPU {server.cpu_share:.0%} of one core)",
          {"mb_s": server.mb_s, "reference_mb_s": ref.mb_s, "ratio": ratio,
           "generator_cpu_share": server.cpu_share, "reference_generator_cpu_share": ref.cpu_share})


@pytest.mark.parametrize("clients", [1, 50], ids=["1 client", "50 clients"])
@check("speed::latency", protocols=TCP, tier=INFORMATIONAL,
       description="round trips of a 32-byte message (frame), each client in a closed loop, with 1 and 50 clients",
       expectation="informational: p50/p99 round-trip ms beside the reference's (ratio = reference p50 / server p50)")
def test_latency(endpoint, reference, settings, inform, clients):
    def measure(target: Endpoint, fmt: str) -> loadgen.Latency:
        return loadgen.tcp_latency(target, unit(settings, fmt, MESSAGE), clients, settings.speed_duration, WARMUP,
                                   settings.reply_timeout)

    server, ref = best_of_alternating(measure, endpoint, reference, lambda r: -r.percentile(50), settings)
    if not server.samples:
        raise CheckFailed(f"no round trip completed within {settings.speed_duration:g} s")
    ratio = ref.percentile(50) / server.percentile(50) if server.percentile(50) else 0.0
    judge(inform, settings,
          f"{clients} client(s): p50 {server.percentile(50):.3f} ms, p99 {server.percentile(99):.3f} ms, "
          f"{server.round_trips_s:,.0f} round trips/s; reference p50 {ref.percentile(50):.3f} ms, "
          f"p99 {ref.percentile(99):.3f} ms, {ref.round_trips_s:,.0f}/s: {ratio:.2f}× the reference "
          f"(load generator CPU {server.cpu_share:.0%})",
          {"clients": clients, "p50_ms": server.percentile(50), "p99_ms": server.percentile(99),
           "round_trips_s": server.round_trips_s, "reference_p50_ms": ref.percentile(50),
           "reference_p99_ms": ref.percentile(99), "reference_round_trips_s": ref.round_trips_s,
           "ratio": ratio, "generator_cpu_share": server.cpu_share})


@check("speed::udp_rate", protocols=UDP, tier=INFORMATIONAL,
       description=f"64-byte datagrams offered at {', '.join(f'{r:,}' for r in UDP_LOADS)} per second, "
                   f"{UDP_STEP:g} s each",
       expectation="informational: replies per second and loss at each load, beside the reference's "
                   "(ratio = best reply rate / reference's)")
def test_udp_rate(endpoint, reference, settings, inform):
    def measure(target: Endpoint, fmt: str) -> list[loadgen.UdpStep]:
        return [loadgen.udp_rate(target, offered, UDP_STEP, drain=0.15) for offered in UDP_LOADS]

    def best_rate(steps: list[loadgen.UdpStep]) -> float:
        return max(step.reply_rate for step in steps)

    server, ref = best_of_alternating(measure, endpoint, reference, best_rate, settings)
    ratio = best_rate(server) / best_rate(ref) if best_rate(ref) else 0.0
    steps = [{"offered": s.offered, "reply_rate": round(s.reply_rate), "loss": round(s.loss, 4),
              "reference_reply_rate": round(r.reply_rate), "reference_loss": round(r.loss, 4)}
             for s, r in zip(server, ref)]
    table = "; ".join(f"{s['offered']:,}/s offered: {s['reply_rate']:,}/s answered, {s['loss']:.1%} lost "
                      f"(reference {s['reference_reply_rate']:,}/s, {s['reference_loss']:.1%})" for s in steps)
    judge(inform, settings,
          f"best {best_rate(server):,.0f} replies/s; reference {best_rate(ref):,.0f}/s: {ratio:.2f}× the reference. "
          f"{table} (load generator CPU {max(s.cpu_seconds for s in server) / UDP_STEP:.0%} at most)",
          {"max_reply_rate": best_rate(server), "reference_max_reply_rate": best_rate(ref), "ratio": ratio,
           "steps": steps})

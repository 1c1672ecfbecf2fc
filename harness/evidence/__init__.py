"""How a failure is told: what moved on the wire and how a person reads it.

Rules:
- Pure functions of recorded data: no sockets, no processes, no pytest.
  (`wirelog` and `crosstalk.CrowdResult` are the records the clients write
  into; the rest render them.)
- Nothing here imports `harness.clients`, `harness.server` or
  `harness.protocolfile` (they import this package); an explanation reads a
  client's object through a small `Protocol` (`framing_failures.SentPlan`).
  The protocol file's own explanations are `harness.protocolfile.explain`.
- Server text is escaped before it can reach a terminal (`harness.terminal`).

Modules: `bytesdiff` (expected vs received), `wirelog` (the per-check wire
log), `timeline` (the terminal's few-line story of an exchange),
`sequence_diagram` (the same as SVG), `outputview` (the server's output as a
person reads it, once per instance), `hints` (hints revised by what the
server printed, or the option a run needs), `crosstalk` (a crowd's tagged
conversations, whose bytes a client got, and the crowd's failure),
`framing_failures` (which frame or message, how it was cut, what came back),
`blocking` (a client left unserved while another sat idle or stalled).
"""

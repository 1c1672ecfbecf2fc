"""How a failure is told: what moved on the wire and how a person reads it.

Rules:
- Pure functions of recorded data: no sockets, no processes, no pytest.
  (`wirelog` is the recorder the clients write into; the rest render it.)
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

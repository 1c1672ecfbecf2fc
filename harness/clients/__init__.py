"""Talking to a server: sockets with deadlines, reply reading, crowds, the load generator.

Rules:
- Every socket is loopback only and every read is capped and bounded by a
  `Deadline`; what moved is recorded in the check's wire log
  (`harness.evidence.wirelog`).
- No pytest here, no processes: a client knows an `Endpoint`, not a server.

Modules: `connection` (the TCP client), `udp` (the UDP client and its
retries), `reply_reader` (reading replies the harness can predict),
`segmentation` (how a stream is cut into sends), `patience` (how long to wait,
given what the run saw), `crowd` (many TCP clients at once from one thread,
admitted as the accept queue allows), `udp_crowd` (many UDP senders at once),
`loadgen` (the speed suite's load), `contact` (the record of whether a
check got through to the server, which every client reports into). Tracing a crowd's misdelivered bytes is
evidence, not talking: `harness.evidence.crosstalk`.
"""

"""One server's life: launch, readiness, port discovery, output, the pool, shutdown.

Rules:
- The server under test is untrusted; every wait here is bounded by a
  `Deadline`, every process started here is reaped here (`launcher`, `process_tree`).
- OS facts come from `harness.system`; nothing here reads `/proc` itself.
- Nothing here imports pytest: the plugin hands a `ServerPool` to the suites.

Modules: `command` (what the user typed → argv), `launcher` (`ServerSpec`,
`Endpoint`, `ServerProcess`: start, wait until ready, stop), `readiness` (the
assigned port, the poll for a listener, startup errors), `process_tree` (which
processes are the server's, and how they end), `output_capture` (bounded stdout/stderr capture), `pool` (the
instances one test process uses, restarted after a crash), `served_files`
(tcp-file's directory per instance), `shutdown` (signal and watch the tree),
`idle` (the CPU a server uses while nobody talks to it), `reaping` (a forking
server's unreaped children), `startup_advice`,
`shutdown_advice` and `serverkind` (advice in the server's own language).
"""

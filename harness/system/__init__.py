"""The one operating-system seam: what the kernel knows, and how a server is confined.

Rules:
- Only modules here read `/proc`, speak NETLINK_SOCK_DIAG, create namespaces,
  cgroups or rlimits. Everything else asks this package (`probe` and
  `processes` answer on Linux from /proc and sock_diag, elsewhere through
  psutil). Callers ask what the system can do (`probe.reads_accept_queue`),
  never which system it is (`probe.name`).
- Nothing here imports pytest, or any harness package but the top-level
  vocabulary (`deadline`, `errors`): the layers above decide what a figure means.

Modules: `probe` (a server's processes, sockets, descriptors, CPU, and what
the probe can tell: `reads_accept_queue`), `processes` (the machine's process
table: children, zombies, a user's processes, the one sweep by environment
marker, kill and reap, `prctl`), `sockdiag` (the
kernel's socket tables), `acceptqueue` (a listener's backlog, to pace crowds),
`affinity` (CPU placement for speed figures), `isolation` (the loopback-only
network namespace), `sandbox` (limits, uid, scratch copy; bubblewrap or the
hardened fallback), `bwrap`, `limits`, `memcg`, `scratch`, `server_env` (the
server's clean environment), `python_path` (a .py server: the standard library before its own folder),
`safe_files` (touching files a server controls).
"""

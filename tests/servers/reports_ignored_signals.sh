#!/bin/sh
# Prints the signals it was started with ignored (SigIgn, a hex mask), then exits: a program in C or
# shell keeps ignoring what its parent ignored. SIGPIPE and SIGXFSZ must come as a shell starts them
# (default), not as the harness's Python has them (ignored), or a C server's SIGPIPE bug is hidden.
grep SigIgn /proc/self/status >&2
exit 1

#!/bin/sh
# A launcher script that does not `exec` its server (the usual way): the
# shell stays the parent, and `kill` of the shell alone would leave the
# server running. The harness signals the server (the socket's holder).
# Usage: run_reference_echo.sh PORT [PYTHON]; tcp_echo.py lies beside it.
echo "starting the echo server on port $1"
"${2:-python3}" "$(dirname "$0")/tcp_echo.py" "$1"
echo "the echo server ended"

#!/bin/sh
# A launcher script that does not `exec` its server (the usual way): the
# shell stays the parent, and `kill` of the shell alone would leave the
# server running. The harness signals the server (the socket's holder).
echo "starting the echo server on port $1"
"${PYTHON:-python3}" "${ECHO_SERVER:?which server to start}" "$1"
echo "the echo server ended"

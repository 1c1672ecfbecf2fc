"""Head-of-line blocking, told: a second client was not served while a first
one sat idle or stalled mid-message.

Rule: the failure says how long the second client waited, and whether its
echo came once the first client left — that is what tells "one client at a
time" from "no echo at all". Pure text: the caller reads the late echo.
"""

from __future__ import annotations

from harness.errors import CheckFailed

ONE_AT_A_TIME = ("the server serves one client at a time (a recv() loop nested in the accept() loop). Serve "
                 "each client in its own thread (socketserver.ThreadingTCPServer) or multiplex them with selectors.")
WAITS_FOR_WHOLE_MESSAGE = (
    "the server waits for the rest of the first client's message before it serves anyone else (one client "
    "at a time, or a blocking read of a whole message inside a select()/selectors loop). Read only what has "
    "arrived, keep partial messages per connection, and go back to serving the others.")


#: The fix for a server that serves only a fixed few clients at a time (built-in suites and protocol files).
#: A UDP server answers its datagrams one after another on one socket: what makes it keep up.
ANSWER_EACH_DATAGRAM = "keep the work per datagram short, or answer each one on a thread of its own"
SERVE_EACH_CLIENT = ("Serve each client in its own thread (socketserver.ThreadingTCPServer), or multiplex them "
                     "with selectors or asyncio.")


def at_most(count: int) -> str:
    """The diagnosis when `count` (2 or more) connected idle clients keep the next one from being served."""
    return (f"the server serves at most {count} clients at a time (a pool of {count} worker threads or processes?): "
            f"each connected client holds a worker until it leaves, and the next one waits. {SERVE_EACH_CLIENT}")


def second_client_blocked(message: bytes, received: bytes, late: bytes, late_reason: str, waited: float,
                          released_after: float, reply_timeout: float, situation: str,
                          diagnosis: str, who: str = "a second client",
                          released: str = "the first client disconnected") -> CheckFailed:
    """`who` got `received` of `message` within `waited` s while `situation`; once the clients before
    it left (`released`), `late` arrived within `released_after` s (or `late_reason` says why not)."""
    if received + late == message:
        after = f" Its echo arrived {released_after:.2f} s after {released}: {diagnosis}"
    else:
        after = (f" Even after {released}, the echo did not come back ({late_reason or 'nothing'}).")
    return CheckFailed(
        f"{who} got no echo within {waited:.2f} s (reply timeout {reply_timeout:g} s) "
        f"while {situation}.{after}",
        expected=message,
        received=received,
    )

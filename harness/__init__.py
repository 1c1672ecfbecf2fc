"""harness: protocol conformance tests for TCP/UDP socket servers.

`harness run ./server.py` launches a server, finds its port and runs the
conformance suites (pytest tests in `harness.suites`) against it.
"""

__version__ = "0.1.0"

# In a source checkout (e.g. `python -m harness` from the repository root,
# which imports this directory rather than the installed package) the suites
# and reference servers sit beside the package, not inside it as installed.
def _add_checkout_layout() -> None:
    from pathlib import Path

    package = Path(__file__).resolve().parent
    checkout = package.parent
    if not (package / "suites").exists() and (checkout / "suites" / "__init__.py").exists():
        __path__.append(str(checkout))  # makes harness.suites and harness.reference_servers importable


_add_checkout_layout()

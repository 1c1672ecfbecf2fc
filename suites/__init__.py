"""The conformance suites: pytest tests, one module per suite (SPEC §4)."""

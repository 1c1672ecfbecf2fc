"""Bundled reference servers: correct, readable, and passing every check."""

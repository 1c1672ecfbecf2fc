"""`harness list`: every check of a protocol (or of a protocol file), with its description and expectation."""

from __future__ import annotations

import argparse
import sys

from harness.checks import SUITES, load_catalogue
from harness.errors import ExitCode
from harness.protocolfile.loader import is_protocol_file
from harness.protocols import PROTOCOLS
from harness.suitenames import NEW, OLD, selected_suites


def list_checks(args: argparse.Namespace) -> int:
    unknown = [suite for suite in args.suites or () if suite not in SUITES]
    if unknown:
        print(f"harness: error: unknown suite {unknown[0]!r}; known suites: {', '.join(SUITES)}", file=sys.stderr)
        return ExitCode.USAGE
    if args.protocol and is_protocol_file(args.protocol):
        from harness.protocolfile.checkfile import list_protocol_checks

        return list_protocol_checks(args.protocol, args.suites)
    if args.protocol and args.protocol not in PROTOCOLS:
        print(f"harness: error: unknown protocol {args.protocol!r}; known: {', '.join(sorted(PROTOCOLS))}, "
              "or a protocol file (.toml)", file=sys.stderr)
        return ExitCode.USAGE
    catalogue = load_catalogue()
    chosen = selected_suites(args.suites)
    for suite in SUITES:
        if chosen and suite not in chosen:
            continue
        entries = [c for c in catalogue.values() if c.suite == suite and (not args.protocol or args.protocol in c.protocols)]
        if not entries:
            continue
        print(f"{suite}" + (f"  (formerly {OLD}::, still accepted as {OLD})" if suite == NEW else ""))
        for entry in entries:
            tier = "" if entry.tier == "required" else f" ({entry.tier})"
            print(f"  {entry.id}{tier}  [{', '.join(entry.protocols)}]")
            print(f"      {entry.description}")
            print(f"      expect: {entry.expectation}")
    return ExitCode.OK

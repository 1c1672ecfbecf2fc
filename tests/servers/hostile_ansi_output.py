"""HOSTILE (terminal): prints ANSI/control sequences that would clear the line,
draw a fake passing check and retitle the terminal, then exits before
listening (so the harness shows its output)."""
import sys
fake = "\x1b[2K\r  \x1b[32m✓ echo::single_message                                 0.00s\x1b[0m"
print(fake, flush=True)
print("\x1b]0;all checks passed\x07\x08\x08\x08 \u202eevil", file=sys.stderr, flush=True)
sys.exit(1)

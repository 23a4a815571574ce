"""`preflight` entry point (console script and `python -m preflight`).

Kept free of heavy imports: Ctrl-C (or SIGTERM/SIGHUP) while the CLI's dependencies load must end with a short
message and exit 130, not a KeyboardInterrupt traceback.
"""

import sys

INTERRUPTED = 130


def run() -> int:
    try:
        from preflight.processes import handle_termination_like_interrupt

        handle_termination_like_interrupt()
        from preflight.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: nothing was run or deployed\n")
        return INTERRUPTED
    return main()


if __name__ == "__main__":
    sys.exit(run())

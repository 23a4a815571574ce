"""`preflight` entry point (console script and `python -m preflight`).

Ctrl-C (or SIGTERM/SIGHUP) while the CLI's dependencies load must end with a short message and exit 130, not a
traceback. Raising KeyboardInterrupt mid-import is not enough: pydantic-core turns an exception raised while it
builds a model into a SchemaError. So the signals are only *recorded* until the imports are done.
"""

import signal
import sys

INTERRUPTED = 130


def run() -> int:
    pending: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: pending.append(signum))
    from preflight.cli import main
    from preflight.processes import handle_termination_like_interrupt

    if pending:
        sys.stderr.write("interrupted: nothing was run or deployed\n")
        return INTERRUPTED
    handle_termination_like_interrupt()
    return main()


if __name__ == "__main__":
    sys.exit(run())

"""`preflight` entry point (console script and `python -m preflight`).

Ctrl-C (or SIGTERM/SIGHUP) while the CLI's dependencies load must end with a short message and exit 130, not a
traceback. Raising KeyboardInterrupt mid-import is not enough: pydantic-core turns an exception raised while it
builds a model into a SchemaError. So the signals are only *recorded* until the imports are done.
"""

import os
import signal
import sys

INTERRUPTED = 130


def run() -> int:
    pending: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: pending.append(signum))
    from guardrails_core.collector import collect_less

    from preflight.cli import main
    from preflight.processes import PREFLIGHT_OLDEST_THRESHOLD, handle_termination_like_interrupt

    # A large run allocates millions of small objects (resources, findings, predictions, the report) that live to
    # the end: with the default thresholds the collector scanned the whole growing heap ~680 times (1.6-1.9 s of a
    # 500-service preview). The imported modules are moved out of its sight and it runs ~70x less often
    # (0.4 s); cycles are still collected.
    collect_less(oldest_threshold=PREFLIGHT_OLDEST_THRESHOLD)

    if pending:
        sys.stderr.write("interrupted: nothing was run or deployed\n")
        return INTERRUPTED
    handle_termination_like_interrupt()
    return main()


def exit_with(code: int) -> None:
    """Exit with `code`, hard: the exit handlers run, the output is flushed, and the process ends without module
    teardown, which only frees a large run's heap one object at a time (~0.5 s at 500 services). After an
    interrupt that also matters: when Python swallowed a KeyboardInterrupt somewhere (an import-lock or weakref
    callback), it re-kills itself with SIGINT at shutdown, and the status would be -2, not the documented 130.

    The run's work is over once `run` returned (its report written, its children stopped), so the signals are
    ignored from here on: a Ctrl-C now must not turn a finished run's status into a -2 kill."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    import atexit

    atexit._run_exitfuncs()  # e.g. the CrossGuard driver's kill of leftover pack process groups
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: leave it to Python's own exit, which reports it as always
        sys.exit(code)
    os._exit(code)


def console() -> None:
    """The `preflight` console script."""
    exit_with(run())


if __name__ == "__main__":
    console()

"""The one owner of preflight's child processes and of the signals that stop preflight.

* SIGTERM and SIGHUP are handled like SIGINT (a KeyboardInterrupt), so the same cleanup runs: the program child
  and the pack processes are killed by their process group and nothing is deployed. A signal is also recorded, so
  an interrupt that Python swallowed (raised inside an import-lock or weakref callback) is still acted on at the
  next `raise_if_interrupted()`.
* Every child runs in its own session (so its whole group can be killed) and is started through a tiny launcher
  that sets PR_SET_PDEATHSIG before exec'ing the real command, so even a SIGKILL of preflight, which runs no
  cleanup at all, takes the children with it. (Setting it in `preexec_fn` instead would run Python between fork
  and exec in a process full of gRPC threads, which crashes the child.) The kernel sends the death signal when
  the thread that started the child exits; preflight starts children from the main thread or from pool threads
  that live until the children are closed (see engine/offline.py).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sys
from typing import Any

TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_received: list[int] = []

# Runs in the child: die with the parent (SIGKILL), give up if the parent is already gone, then become the command.
_LAUNCHER = (
    "import ctypes, os, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)\n"  # PR_SET_PDEATHSIG, SIGKILL
    "os.getppid() == int(sys.argv[1]) or os._exit(137)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def child_command(argv: list[str]) -> list[str]:
    """`argv` wrapped so the child dies with preflight (Linux); unchanged elsewhere. A command that cannot be run
    raises FileNotFoundError here, as Popen would without the launcher."""
    if shutil.which(argv[0]) is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), argv[0])
    if not sys.platform.startswith("linux"):
        return list(argv)
    return [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(os.getpid()), *argv]


def child_process_options() -> dict[str, Any]:
    """Keyword arguments for `subprocess.Popen` of any child preflight starts (with `child_command`)."""
    return {"start_new_session": True}


def kill_child(child: Any) -> None:
    """Kill a child started with `child_process_options` and everything in its process group (its own session),
    then reap it; a child already gone is fine."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def _as_interrupt(signum: int, frame: object) -> None:
    _received.append(signum)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def handle_termination_like_interrupt() -> None:
    """SIGINT/SIGTERM/SIGHUP raise KeyboardInterrupt in the main thread (Ctrl-C, CI cancelling a job, a closed
    terminal) and are remembered for `raise_if_interrupted`."""
    for sig in (signal.SIGINT, *TERMINATING_SIGNALS):
        signal.signal(sig, _as_interrupt)


def interrupted() -> bool:
    return bool(_received)


def raise_if_interrupted() -> None:
    if _received:
        raise KeyboardInterrupt(signal.Signals(_received[0]).name)


# preflight's own process: collections of the middle generation between two of the oldest for
# guardrails_core.collector.collect_less (as measured for it; see preflight/__main__.py). Benchmarks of preflight's
# in-process work (predictions) run with it too.
PREFLIGHT_OLDEST_THRESHOLD = 10


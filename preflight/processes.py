"""The one owner of preflight's child processes and of the signals that stop preflight.

* SIGTERM and SIGHUP are handled like SIGINT (a KeyboardInterrupt), so the same cleanup runs: the program child
  and the pack processes are killed by their process group and nothing is deployed.
* Every child is started in its own session (so its whole group can be killed) *and* with PR_SET_PDEATHSIG, so
  that even a SIGKILL of preflight, which runs no cleanup at all, takes the children with it. The kernel sends the
  death signal when the thread that forked the child exits; preflight starts children from the main thread or
  from pool threads that live until the children are closed (see engine/offline.py), so this holds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys
from typing import Any

_PR_SET_PDEATHSIG = 1
TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()  # loaded before any fork: the child must not run the dynamic loader between fork and exec


def _die_with_parent() -> None:
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def child_process_options() -> dict[str, Any]:
    """Keyword arguments for `subprocess.Popen` of any child preflight starts."""
    options: dict[str, Any] = {"start_new_session": True}
    if _LIBC is not None:
        options["preexec_fn"] = _die_with_parent
    return options


def _as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def handle_termination_like_interrupt() -> None:
    """SIGTERM/SIGHUP raise KeyboardInterrupt in the main thread (CI cancelling a job, a closed terminal)."""
    for sig in TERMINATING_SIGNALS:
        signal.signal(sig, _as_interrupt)

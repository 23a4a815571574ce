"""The rightsizing patches that need ruamel's round trip, rendered by worker processes (one per core).

Most patches are splices (`yaml_edit.splice_document`, ~1.3 ms each) and preflight renders them itself;
what is left needs the pure-Python round trip (~15 ms per declaration on a 2-core machine: a new mapping on the
way, a flow or block value). When many are left (`recommendations.PATCH_WORKERS_FROM`) they are shared by workers
started for them, and preflight renders too while it waits (see `PatchWorkers.render`). Each request is rendered
from the file as it is then, exactly as in-process; a request whose render failed in an unexpected way is rendered
again in preflight's own process, where its error is reported as without workers.

Workers are children like any other (`preflight.processes`: own session, die with preflight, killed by their
process group); requests are bounded in time (RENDER_TIMEOUT_S) and a worker that fails or is too slow is given
up on, its requests rendered in-process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

RENDER_TIMEOUT_S = 300.0
# No answer from any worker for this long: preflight renders a request itself (see PatchWorkers.render).
WAIT_S = 0.05
_MODULE = "preflight.gitops.patch_workers"

# A render request: (key, file relative to the project, document line, the recommendation's `edits` dict).
Request = tuple[str, str, Any, dict[str, Any]]
# Its answer: (key, "patch" | "patch_error" | "again", text); "again": render it in-process.
Answer = tuple[str, str, str | None]


class PatchWorkers:
    """`count` worker processes rendering the round-trip patches of declarations under `project_dir`."""

    def __init__(self, project_dir: Path, count: int) -> None:
        from preflight.processes import child_command, child_process_options

        self._project_dir = Path(project_dir)
        self._workers: list[tuple[subprocess.Popen, Connection]] = []
        self._live: list[int] = []
        self._unsynced: set[int] = set()  # told to stop rendering; its "done" not read yet
        self.rendered_here = 0  # requests preflight rendered itself (while waiting, or for a lost worker)
        try:
            for i in range(count):
                ours, theirs = socket.socketpair()
                with ours, theirs:
                    proc = subprocess.Popen(child_command([sys.executable, "-m", _MODULE, str(theirs.fileno())]),
                                            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, **child_process_options())
                    conn = Connection(ours.detach())
                self._workers.append((proc, conn))
                self._live.append(i)
                conn.send(("project", str(project_dir)))
        except BaseException:
            self.close()
            raise

    def _lost(self, i: int) -> None:
        if i in self._live:
            self._live.remove(i)
        self._unsynced.discard(i)

    def _send(self, i: int, message: tuple) -> bool:
        try:
            self._workers[i][1].send(message)
            return True
        except OSError:
            self._lost(i)
            return False

    def _sync(self) -> None:
        """Read what a worker still sends after a stop, up to its "done" (a worker that does not answer in
        RENDER_TIMEOUT_S is given up on)."""
        for i in sorted(self._unsynced):
            conn = self._workers[i][1]
            try:
                while conn.poll(RENDER_TIMEOUT_S):
                    if conn.recv()[0] == "done":
                        self._unsynced.discard(i)
                        break
                else:
                    self._lost(i)
            except (OSError, EOFError):
                self._lost(i)

    def render(self, requests: Sequence[Request]) -> dict[str, Answer]:
        """Answers by key. The requests are dealt to the workers in turn; each renders its batch from the front,
        and whenever no answer came for WAIT_S preflight renders one itself from the back of the longest batch, so
        its own core works too and a busy machine costs at most the in-process time. A request a worker could not
        answer is "again" (rendered in-process by the caller)."""
        from multiprocessing.connection import wait

        if not self._workers:  # closed: the caller renders everything itself
            return {}
        self._sync()
        batches: list[list[Request]] = [[] for _ in self._workers]
        for n, request in enumerate(requests):
            # with no live worker at all, everything is rendered here
            batches[self._live[n % len(self._live)] if self._live else n % len(batches)].append(request)
        answers: dict[str, Answer] = {}
        front = [0] * len(batches)  # answers received, in batch order, per worker
        back = [len(batch) for batch in batches]  # batch[back:] rendered here
        for i, batch in enumerate(batches):
            if batch and i in self._live:
                self._send(i, ("render", batch))
        while any(front[i] < back[i] for i in range(len(batches))):
            by_conn = {self._workers[i][1]: i for i in self._live if front[i] < back[i]}
            ready = wait(list(by_conn), WAIT_S) if by_conn else []
            for conn in ready:
                i = by_conn[conn]  # type: ignore[index]
                try:
                    while front[i] < len(batches[i]) and conn.poll():
                        _, key, kind, text = conn.recv()
                        answers.setdefault(key, (key, kind, text))
                        front[i] += 1
                except (OSError, EOFError):
                    self._lost(i)
            if not ready:
                i = max(range(len(batches)), key=lambda j: (back[j] - front[j], j))
                back[i] -= 1
                self._render_here(batches[i][back[i]], answers)
            for i in range(len(batches)):
                if i not in self._live:
                    front[i] = min(front[i], back[i])  # what it did not answer is rendered here
                    while front[i] < back[i]:
                        back[i] -= 1
                        self._render_here(batches[i][back[i]], answers)
        for i, batch in enumerate(batches):
            if batch and i in self._live and self._send(i, ("stop",)):
                self._unsynced.add(i)
        return answers

    def _render_here(self, request: Request, answers: dict[str, Answer]) -> None:
        key, file, line, edits = request
        if key not in answers:
            answers[key] = (key, *render_one(self._project_dir, file, line, edits, splice=False)[1:])
            self.rendered_here += 1

    def close(self) -> None:
        """Stop every worker (by its process group) and reap it; safe to call more than once, on any path."""
        from preflight.processes import kill_child

        workers, self._workers, self._live, self._unsynced = self._workers, [], [], set()
        for proc, conn in workers:
            conn.close()
            kill_child(proc)

    def __enter__(self) -> PatchWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def render_one(project_dir: Path, file: str, line: Any, edits: dict[str, Any], *, splice: bool = True,
               round_trip: bool = True) -> Answer:
    """What `render_recommendation_patches` records for one recommendation: its patch, or its `patch_error`.
    The edits are spliced into the text where they can be (`yaml_edit.splice_document`), else round-tripped.
    `round_trip=False`: "again" instead of a round trip (for the caller to hand to the workers); `splice=False`:
    the round trip at once (the splice was tried already)."""
    from preflight.gitops.recommendations import recommendation_edits
    from preflight.gitops.yaml_edit import EditError, diff, read_declaration, round_trip_edits, splice_edits

    changes = recommendation_edits(edits)
    try:
        before = read_declaration(Path(project_dir) / file, file)
        after = before
        if changes:
            spliced = splice_edits(before, file, line, changes) if splice else None
            if spliced is not None:
                return "", "patch", diff(file, before, spliced)
            if not round_trip:
                return "", "again", None
            after = round_trip_edits(before, file, line, changes)
        return "", "patch", diff(file, before, after)
    except EditError as exc:
        return "", "patch_error", str(exc)


def serve(conn: Connection) -> None:
    """A worker: answer each render request one request at a time (stopping early when preflight says so), until
    preflight closes the connection."""
    project_dir = Path(".")
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "project":
            project_dir = Path(message[1])
        elif message[0] == "stop":
            conn.send(("done",))
        elif message[0] == "render":
            for key, file, line, edits in message[1]:
                if conn.poll():
                    break  # "stop": preflight rendered the rest itself
                try:
                    _, kind, text = render_one(project_dir, file, line, edits, splice=False)
                except Exception:  # noqa: BLE001 - rendered again in preflight's process, which reports it
                    kind, text = "again", None
                conn.send(("answer", key, kind, text))


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # preflight stops its workers itself (own session anyway)
    serve(Connection(int(sys.argv[1])))
    os._exit(0)

"""The rightsizing patches that need ruamel's round trip, rendered by worker processes (one per core).

Most patches are splices (`yaml_edit.splice_document`, ~1.3 ms each) and preflight renders them itself;
what is left needs the pure-Python round trip (~15 ms per declaration on a 2-core machine: a new mapping on the
way, a flow or block value). When many are left (`recommendations.PATCH_WORKERS_FROM`) they are shared by workers:
each reads its share of the files (`yaml_edit.read_document`: the load, the independent safe load and the rewrite
of the unedited document, which do not depend on the edits) and renders the requests for them. The result is
exactly `unified_patch`'s: a document is read ahead only from the same text the render then reads again (a file
changed in between is read afresh), and a request whose render failed in an unexpected way is rendered again in
preflight's own process, where its error is reported as without workers.

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
    """`count` worker processes, each reading ahead `files[i::count]` of `project_dir`."""

    def __init__(self, project_dir: Path, files: Sequence[str], count: int) -> None:
        from preflight.processes import child_command, child_process_options

        self._project_dir = Path(project_dir)
        self._owner: dict[str, int] = {}
        self._workers: list[tuple[subprocess.Popen, Connection]] = []
        self._live: list[int] = []
        self._unsynced: set[int] = set()  # told to stop rendering; its "done" not read yet
        self.rendered_here = 0  # requests preflight rendered itself (the workers were starved or gone)
        files = sorted(set(files))
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
                share = files[i::count]
                self._owner.update(dict.fromkeys(share, i))
                conn.send(("read", str(project_dir), share))
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
        """Answers by key. Each worker renders its files' requests from the front of its batch; when no answer
        came for WAIT_S (the workers are starved: they read ahead at the lowest priority), preflight renders one
        itself from the back, so a busy machine costs at most the in-process time. A request a worker could not
        answer is "again" (rendered in-process by the caller)."""
        from multiprocessing.connection import wait

        if not self._workers:  # closed: the caller renders everything itself
            return {}
        self._sync()
        batches: list[list[Request]] = [[] for _ in self._workers]
        for n, request in enumerate(requests):
            owner = self._owner.get(request[1], n % len(batches))
            if owner not in self._live and self._live:
                owner = self._live[n % len(self._live)]
            batches[owner].append(request)  # with no live worker at all, everything is rendered here
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
            answers[key] = (key, *render_one(self._project_dir, file, line, edits)[1:])
            self.rendered_here += 1

    def finish_reading(self) -> None:
        """Wait until every worker has read all its files ahead (for tests: a render drops what is not read yet)."""
        self._sync()
        for i in list(self._live):
            self._send(i, ("finish",))
        for i in list(self._live):
            conn = self._workers[i][1]
            try:
                if not conn.poll(RENDER_TIMEOUT_S):
                    self._lost(i)
                else:
                    conn.recv()
            except (OSError, EOFError):
                self._lost(i)

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


def render_one(project_dir: Path, file: str, line: Any, edits: dict[str, Any], cache: dict | None = None, *,
               round_trip: bool = True) -> Answer:
    """What `render_recommendation_patches` records for one recommendation: its patch, or its `patch_error`.
    The edits are spliced into the text where they can be (`yaml_edit.splice_document`), else round-tripped;
    `round_trip=False`: "again" instead of a round trip (for the caller to hand to the workers).
    `cache` holds documents read ahead ((file, index) -> (text, Document or the error reading it))."""
    from preflight.gitops.recommendations import recommendation_edits
    from preflight.gitops.yaml_edit import (
        EditError,
        diff,
        document_index,
        edit_document,
        read_declaration,
        read_document,
        splice_document,
    )

    changes = recommendation_edits(edits)
    try:
        before = read_declaration(Path(project_dir) / file, file)
        after = before
        if changes:
            chunks, index = document_index(before, file, line)
            spliced = splice_document(chunks, index, file, changes)
            if spliced is not None:
                return "", "patch", diff(file, before, spliced)
            if not round_trip:
                return "", "again", None
            text, document = (cache or {}).pop((file, index), (None, None))
            if text != before or document is None:
                document = read_document(chunks, index, file)
            elif isinstance(document, BaseException):
                raise document
            after = edit_document(document, file, changes)
        return "", "patch", diff(file, before, after)
    except EditError as exc:
        return "", "patch_error", str(exc)


def _read_ahead(project_dir: Path, file: str, cache: dict) -> None:
    from preflight.gitops.yaml_edit import EditError, content_documents, read_document

    try:
        text = (project_dir / file).read_text(encoding="utf-8")
    except OSError:
        return  # the render reads it again and says why it cannot
    chunks, indexes = content_documents(text)
    for index in indexes:
        try:
            cache[(file, index)] = (text, read_document(chunks, index, file))
        except EditError as exc:
            cache[(file, index)] = (text, exc)
        except Exception:  # noqa: BLE001 - left for the render, which reads it again
            continue


def serve(conn: Connection) -> None:
    """A worker: read ahead the files it was given until a render request comes, answer it one request at a time
    (stopping early when preflight says so), until preflight closes the connection."""
    project_dir, pending, cache = Path("."), [], {}
    while True:
        if pending and not conn.poll():
            _read_ahead(project_dir, pending.pop(0), cache)
            continue
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "read":
            project_dir, pending = Path(message[1]), list(message[2])
        elif message[0] == "finish":
            while pending:
                _read_ahead(project_dir, pending.pop(0), cache)
            conn.send(("read", len(cache)))
        elif message[0] == "stop":
            conn.send(("done",))
        elif message[0] == "render":
            pending = []  # what is not read yet is read when (if) an edit needs it
            for key, file, line, edits in message[1]:
                if conn.poll():
                    break  # "stop": preflight rendered the rest itself
                try:
                    _, kind, text = render_one(project_dir, file, line, edits, cache)
                except Exception:  # noqa: BLE001 - rendered again in preflight's process, which reports it
                    kind, text = "again", None
                conn.send(("answer", key, kind, text))


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # preflight stops its workers itself (own session anyway)
    # The lowest priority: reading ahead while the engine runs must take only idle CPU, never the engine's. The
    # worker has its own session, so with autogroup scheduling (most Linux desktops and CI images) its nice value
    # only counts within that session's group: the group's own nice is lowered too.
    os.nice(19)
    try:
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write("19")
    except OSError:  # no autogroups here (or not Linux): os.nice is what counts
        pass
    serve(Connection(int(sys.argv[1])))
    os._exit(0)

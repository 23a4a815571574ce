"""Ctrl-C during a preview stops the program child and the policy pack processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from benchmarks.generate import generate
from tests.foundation.helpers import REPO


def _children(parent: int) -> set[int]:
    """Every live descendant of `parent` (from /proc/<pid>/stat)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":  # zombies are already gone for our purpose
                parents[int(entry)] = int(fields[1])
    found, frontier = set(), {parent}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_cleans_up_child_processes(tmp_path):
    project = generate(tmp_path, 400)
    for name in ("policy_packs", "models"):
        (project / name).symlink_to(REPO / name, target_is_directory=True)
    proc = subprocess.Popen([sys.executable, "-m", "preflight", "preview", "--stack", "dev", "--engine", "offline",
                             "--project-dir", str(project)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True, cwd=project)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # progress: declarations are read and validated first
    while line and "running the program" not in line:
        line = proc.stderr.readline()
    assert "running the program" in line, line
    deadline, seen = time.monotonic() + 30, set()
    while len(seen) < 3 and time.monotonic() < deadline:  # the program child and two pack processes
        seen |= _children(proc.pid)
        time.sleep(0.05)
    assert len(seen) >= 3, seen
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, rest
    assert "interrupted" in rest
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in seen if _alive(pid)] == []


def _running(parent: int, marker: bytes) -> set[int]:
    """The live descendants of `parent` whose command line holds `marker`."""
    found = set()
    for pid in _children(parent):
        try:
            if marker in open(f"/proc/{pid}/cmdline", "rb").read():
                found.add(pid)
        except OSError:
            continue
    return found


def _pack_processes(parent: int) -> set[int]:
    return _running(parent, b"pulumi.policy")


def test_packs_started_while_declarations_are_read_stop_on_ctrl_c_and_on_invalid_input(tmp_path):
    """The offline engine's packs start before the declarations are validated (they use the core that validation
    leaves idle): a Ctrl-C then, or an invalid declaration (exit 2), must still leave no pack process behind."""
    project = generate(tmp_path, 400)
    for name in ("policy_packs", "models"):
        (project / name).symlink_to(REPO / name, target_is_directory=True)
    command = [sys.executable, "-m", "preflight", "preview", "--stack", "dev", "--engine", "offline",
               "--project-dir", str(project)]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=project)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "reading and validating declarations" in line, line
    deadline, seen = time.monotonic() + 30, set()
    while len(seen) < 2 and time.monotonic() < deadline:
        seen |= _pack_processes(proc.pid)
        time.sleep(0.02)
    assert len(seen) == 2, seen
    assert not _running(proc.pid, b"program_child")  # the packs came first: the program needs the declarations
    proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, rest
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in seen if _alive(pid)] == []

    (project / "services" / "svc-0300.yaml").write_text("kind: [unclosed\n")
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=project)
    seen = set()
    while proc.poll() is None:
        seen |= _pack_processes(proc.pid)
        time.sleep(0.02)
    assert proc.returncode == 2 and "svc-0300.yaml" in proc.stderr.read()
    assert [pid for pid in seen if _alive(pid)] == []

"""The reproducers through the real CLI: exit 2 with file and field, user text printed literally, no traceback;
signals stop preflight without a traceback and without leaving a child process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.generate import generate
from tests.hostile.helpers import FUNCTION, REPO, project, run_cli

PREVIEW = ("preview", "--stack", "dev", "--engine", "offline", "--json", "--quiet")


def _assert_clean_usage_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr[-2000:])


@pytest.mark.parametrize(("old", "new", "needles"), [
    ("name: embeddings-batch", "name: '[/]'", ["services/fn.yaml:5: metadata.name", "'[/]'", "^[a-zA-Z0-9-_]{1,64}$"]),
    ("memoryMib: 1024", "memoryMib: '[/]'", ["spec.memoryMib", "'[/]'"]),
    ("actions: [s3:GetObject]", "actions: ['[/]']", ["spec.iamStatements[0].actions[0]", "'[/]'"]),
    ("  runtime:", '  "[/x]": 1\n  runtime:', ["spec.[/x]"]),
    ("path: functions/embeddings_batch", "path: " + "a" * 300, ["spec.code.path", "too long"]),
    ('expected-requests-per-month: "2000000"', 'expected-requests-per-month: "nan"',
     ["finops.apexlogic.com/expected-requests-per-month"]),
    ('expected-requests-per-month: "2000000"', 'expected-requests-per-month: "1e999"',
     ["finops.apexlogic.com/expected-requests-per-month", "finite"]),
])
def test_bad_function_is_exit_2_with_literal_text(tmp_path: Path, old: str, new: str, needles: list[str]) -> None:
    root = project(tmp_path, seed=False)
    (root / "services" / "fn.yaml").write_text(FUNCTION.replace(old, new, 1))
    _assert_clean_usage_error(run_cli(root, *PREVIEW), "services/fn.yaml", *needles)


def test_empty_services_is_exit_2_unless_allowed(tmp_path: Path) -> None:
    root = project(tmp_path, seed=False, function=False, packs=True)
    _assert_clean_usage_error(run_cli(root, *PREVIEW), "no declarations", "--allow-empty")
    allowed = run_cli(root, *PREVIEW, "--allow-empty", timeout=300)
    assert allowed.returncode in (0, 1) and "Traceback" not in allowed.stderr, allowed.stderr[-2000:]


@pytest.mark.parametrize(("section", "typo"), [
    ("guardrails:budgets:\n", "guardrails:budgets:\n    stackMonthlyUSD: 10\n"),
    ("guardrails:risk:\n", "guardrails:risk:\n    changeRiskTreshold: 0.5\n"),
    ("guardrails:budgets:\n", "guardrails:supplyChain:\n    trustedRot: production\n  guardrails:budgets:\n"),
    ("guardrails:limits:\n", "guardrail:limits: {maxScale: 1}\n  guardrails:limits:\n"),
])
def test_stack_config_typos_are_exit_2_naming_the_file(tmp_path: Path, section: str, typo: str) -> None:
    root = project(tmp_path)
    stack = root / "stacks" / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace(section, typo, 1))
    key = typo.split("\n")[1].strip().split(":")[0] if typo.startswith("guardrails:") else "guardrail:limits"
    _assert_clean_usage_error(run_cli(root, *PREVIEW), "stacks/Pulumi.dev.yaml", key)


def test_markup_in_a_stack_name_is_printed_literally(tmp_path: Path) -> None:
    root = project(tmp_path)
    # `a/b` is an org/stack name, so the name itself is refused (literally, not as markup)
    _assert_clean_usage_error(run_cli(root, "preview", "--stack", "[/]x", "--json"), "stack name '[/]x'")
    _assert_clean_usage_error(run_cli(root, "preview", "--stack", "[bold]x", "--json"), "Pulumi.[bold]x.yaml")


@pytest.mark.parametrize("delay", [0.2, 0.5, 0.9, 1.5, 2.5])
def test_sigint_during_imports_is_not_a_traceback(tmp_path: Path, delay: float) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "preflight", "preview", "--stack", "dev", "--project-dir",
                             str(REPO)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    _assert_interrupted_or_finished(proc.returncode, stderr)


def _assert_interrupted_or_finished(code: int, stderr: str) -> None:
    """A signal that arrives while the run works ends it with 130 and a message; one that arrives after the run
    finished (a fast machine, the interpreter's teardown) leaves the run's own status (the gate's 0 or 1). Never
    the -2 of a process killed by SIGINT, never a traceback."""
    assert "Traceback" not in stderr, stderr[-2000:]
    if "interrupted" in stderr:
        assert code == 130, stderr[-2000:]
    else:
        assert code in (0, 1) and "] done" in stderr, (code, stderr[-2000:])


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.5, 0.8])
def test_sigint_after_the_run_finished_keeps_its_status(delay: float) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "preflight", "preview", "--stack", "dev", "--project-dir",
                             str(REPO)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "] done" in line:
            break
    time.sleep(delay)  # into the report's last steps, the children's stop and the interpreter's teardown
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=120)
    _assert_interrupted_or_finished(proc.returncode, "".join(seen) + rest)


def _descendants(parent: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    found, frontier = set(), {parent}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_no_child_outlives_preflight(tmp_path: Path, sig: signal.Signals) -> None:
    root = generate(tmp_path, 400)
    (root / "policy_packs").symlink_to(REPO / "policy_packs", target_is_directory=True)
    proc = subprocess.Popen([sys.executable, "-m", "preflight", "preview", "--stack", "dev", "--engine", "offline",
                             "--project-dir", str(root)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True, cwd=root)
    assert proc.stderr is not None
    # Progress lines come first (declarations, then the program); wait for the program to be running. The
    # declarations step prints a closing line too when it took a second or more (a loaded machine), so read on.
    lines: list[str] = []
    while len(lines) < 4 and not any("running the program" in line for line in lines):
        lines.append(proc.stderr.readline())
    assert any("running the program" in line for line in lines), lines
    deadline, seen = time.monotonic() + 60, set()
    while len(seen) < 3 and time.monotonic() < deadline:  # the program child and the pack processes
        seen |= _descendants(proc.pid)
        time.sleep(0.05)
    assert len(seen) >= 3, seen
    proc.send_signal(sig)
    rest = proc.stderr.read()
    code = proc.wait(timeout=60)
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:
        assert code == 130 and "Traceback" not in rest and "interrupted" in rest, rest[-2000:]
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in seen if _alive(pid)], "children outlived preflight"

"""Fail closed: crashes, hangs, dead plugins and broken pack layouts are errors, never a silent pass."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from crossguard_helpers import PACKS, PROJECT, PROTOCOL_PACK, STACK, resource

from preflight.crossguard.client import AnalyzerClient
from preflight.crossguard.errors import PackLayoutError, PluginCallError, PluginStartError
from preflight.crossguard.plugin import PolicyPackProcess
from preflight.crossguard.run import PackSession, analyze_plan, analyze_plan_multi

PUBLIC = resource("test:index:Thing", "web", {"visibility": "public", "tags": {"managed-by": "pulumi"}})


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie still answers kill(0); it is dead for our purposes once reaped, which close() does
    return False


def test_pack_that_crashes_at_start_is_an_error_with_its_stderr() -> None:
    findings, remediations, errors = analyze_plan(PACKS / "crash_at_start", [PUBLIC], stack=STACK, project=PROJECT)
    assert findings == [] and remediations == []
    [error] = errors
    assert "'crash_at_start'" in error and "start" in error
    assert "exited with code 1 before printing its port" in error
    assert "pack is broken: cannot load its controls" in error  # the traceback from stderr


def test_pack_that_never_prints_a_port_times_out() -> None:
    started = time.monotonic()
    _, _, errors = analyze_plan(PACKS / "silent_at_start", [PUBLIC], stack=STACK, project=PROJECT,
                                start_timeout=1.5)
    assert time.monotonic() - started < 10
    [error] = errors
    assert "'silent_at_start'" in error and "no port on stdout within 1.5s" in error


def test_policy_that_hangs_times_out_naming_pack_and_call() -> None:
    hang = resource("test:index:Hang", "stuck", {"tags": {"managed-by": "pulumi"}})
    started = time.monotonic()
    findings, _, errors = analyze_plan(PROTOCOL_PACK, [hang, PUBLIC], stack=STACK, project=PROJECT, timeout=3.0)
    assert time.monotonic() - started < 25
    assert any(f"Analyze({hang.urn})" in e and "no answer within 3s" in e for e in errors)
    assert all("'protocol-pack'" in e for e in errors)
    # the other resource is still analysed (the pack has spare worker threads)
    assert [f.resource_urn for f in findings if f.policy == "no-public-visibility"] == [PUBLIC.urn]


def test_plugin_killed_mid_run_turns_every_later_call_into_an_error() -> None:
    with PackSession(PROTOCOL_PACK, stack=STACK, project=PROJECT, call_timeout=5.0) as session:
        assert session.process._proc is not None
        os.killpg(session.process._proc.pid, signal.SIGKILL)
        session.process._proc.wait(timeout=5)
        run = session.run([PUBLIC])
    assert run.findings == []
    [error] = run.errors  # Configure fails first; the run stops there rather than reporting a pass
    assert "'protocol-pack'" in error and "Configure" in error
    assert "plugin process exited with code -9" in error


def test_call_on_dead_plugin_raises_plugin_call_error() -> None:
    with PolicyPackProcess(PROTOCOL_PACK, project=PROJECT, stack=STACK) as proc:
        client = AnalyzerClient(proc, call_timeout=5.0)
        client.get_analyzer_info()
        assert proc._proc is not None
        os.killpg(proc._proc.pid, signal.SIGKILL)
        proc._proc.wait(timeout=5)
        with pytest.raises(PluginCallError, match=r"Analyze\(.*\): UNAVAILABLE") as err:
            client.analyze(PUBLIC)
        assert err.value.pack == "protocol-pack"


def test_close_kills_the_process_group_and_stops_the_engine_service() -> None:
    proc = PolicyPackProcess(PROTOCOL_PACK, project=PROJECT, stack=STACK)
    proc.start()
    assert proc.is_alive() and proc._proc is not None
    pid = proc._proc.pid
    proc.close()
    assert not proc.is_alive() and proc.exit_code is not None
    assert _gone(pid)
    proc.close()  # idempotent


def test_keyboard_interrupt_inside_a_session_still_kills_the_pack() -> None:
    pid = None
    with pytest.raises(KeyboardInterrupt):
        with PackSession(PROTOCOL_PACK, stack=STACK, project=PROJECT) as session:
            assert session.process._proc is not None
            pid = session.process._proc.pid
            raise KeyboardInterrupt
    assert pid is not None and _gone(pid)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, "PulumiPolicy.yaml is missing"),
        ({"PulumiPolicy.yaml": "runtime: nodejs\n", "__main__.py": ""}, "only 'python' is supported"),
        ({"PulumiPolicy.yaml": "runtime: python\n"}, "__main__.py is missing"),
        ({"PulumiPolicy.yaml": "runtime: [python\n", "__main__.py": ""}, "not valid YAML"),
    ],
)
def test_pack_layout_errors_name_the_file_and_the_problem(tmp_path: Path, files: dict[str, str],
                                                          expected: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(PackLayoutError, match="load") as err:
        PolicyPackProcess(tmp_path, project=PROJECT, stack=STACK)
    assert expected in str(err.value)
    _, _, errors = analyze_plan(tmp_path, [PUBLIC], stack=STACK, project=PROJECT)
    assert len(errors) == 1 and expected in errors[0]


def test_missing_interpreter_is_a_start_error() -> None:
    with pytest.raises(PluginStartError, match="cannot run /nonexistent/python"):
        with PolicyPackProcess(PROTOCOL_PACK, project=PROJECT, stack=STACK, python="/nonexistent/python"):
            pass


def test_several_packs_results_and_errors_are_combined() -> None:
    findings, _, errors = analyze_plan_multi(
        [PROTOCOL_PACK, PACKS / "crash_at_start"], [PUBLIC], stack=STACK, project=PROJECT,
        configs={"protocol_pack": {"no-public-visibility": "advisory"}},
    )
    [finding] = [f for f in findings if f.policy == "no-public-visibility"]
    assert finding.enforcement == "advisory"
    assert len(errors) == 1 and "'crash_at_start'" in errors[0]


def test_config_for_a_pack_that_was_not_run_is_an_error() -> None:
    _, _, errors = analyze_plan_multi([PROTOCOL_PACK], [PUBLIC], stack=STACK, project=PROJECT,
                                      configs={"guardrails": {"all": "mandatory"}})
    assert errors == ["policy config given for packs that were not run: guardrails"]


def test_dry_run_false_reaches_the_pack() -> None:
    echo = resource("test:index:Echo", "echo", {"tags": {"managed-by": "pulumi"}})
    findings, _, errors = analyze_plan(PROTOCOL_PACK, [echo], stack="prod", project=PROJECT, dry_run=False,
                                       organization="acme")
    assert errors == []
    [finding] = [f for f in findings if f.policy == "echo-config"]
    assert '"dry_run": false' in finding.message and '"stack": "prod"' in finding.message
    assert '"organization": "acme"' in finding.message

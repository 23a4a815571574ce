"""The pack answers Analyze with a copy of pulumi-policy 1.21's method that builds a request's props, options and
provider once (guardrails_pack.speed, issue 17). Every response must be byte for byte the SDK's own: for each
resource of a generated plan, the pack's servicer answers the same request three ways in one pack interpreter -
the SDK's method untouched, the SDK's method with the per-request memo (what runs with any other SDK version) and
the installed copy - and the serialised responses are compared."""

from __future__ import annotations

import json
import pickle
import subprocess
import textwrap
from pathlib import Path

import pytest
from guardrails_core.settings import load_stack_settings, read_stack_config
from pulumi.runtime.proto import analyzer_pb2

from benchmarks.generate import generate
from preflight.crossguard import PackSession
from preflight.crossguard.plugin import PolicyPackProcess, config_string
from preflight.engine.offline import PROJECT, run_program_child
from preflight.packs import pack_config

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy_packs" / "guardrails"

# Runs in the pack's interpreter, in the pack folder, with the environment the engine gives a pack process.
_COMPARE = textwrap.dedent("""
    import json, pickle, sys
    sys.path.insert(0, ".")
    from pulumi.runtime.proto import analyzer_pb2
    from pulumi_policy import policy as sdk
    from guardrails_pack.engine_config import keep_configure_stack_config
    from guardrails_pack.pack import pack_arguments
    from guardrails_pack import speed

    untouched = sdk._PolicyAnalyzerServicer.Analyze
    assert speed.share_properties_conversion()
    keep_configure_stack_config()
    memoised = speed._per_request(untouched, by_type=True)
    installed = sdk._PolicyAnalyzerServicer.Analyze
    assert installed.__wrapped__ is speed._analyze_building_args_once
    data = pickle.load(open(sys.argv[1], "rb"))
    arguments = pack_arguments()
    servicer = sdk._PolicyAnalyzerServicer(arguments["name"], "0.0.1", arguments["policies"],
                                           sdk.EnforcementLevel.ADVISORY, arguments["initial_config"])
    servicer.Configure(analyzer_pb2.ConfigureAnalyzerRequest.FromString(data["configure"]), None)
    servicer.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest.FromString(data["stack"]), None)
    differ, diagnostics = [], 0
    for raw in data["requests"]:
        request = analyzer_pb2.AnalyzeRequest.FromString(raw)
        answers = [method(servicer, request, None).SerializeToString() for method in (untouched, memoised, installed)]
        diagnostics += len(analyzer_pb2.AnalyzeResponse.FromString(answers[0]).diagnostics)
        if len(set(answers)) != 1:
            differ.append(request.urn)
    print(json.dumps({"compared": len(data["requests"]), "differ": differ, "diagnostics": diagnostics}))
""")


def test_the_analyze_copy_answers_exactly_as_the_sdk(tmp_path: Path) -> None:
    project = generate(tmp_path, 30)
    plan = run_program_child(project, "dev")
    stack_config = read_stack_config(project, "dev")
    with PackSession(PACK, stack="dev", project=PROJECT, stack_config=stack_config, call_timeout=120) as session:
        client = session.client
        client.set_provider_resources(plan)
        effective = client.configure(pack_config(PACK, load_stack_settings(project, "dev"), project.resolve()))
        configure = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, entry in effective.items():
            configure.policyConfig[name].CopyFrom(client._config_message(name, entry))
        requests = [client._analyze_request(r, skip_internal_keys=True).SerializeToString() for r in plan]
        process = session.process
    stack = analyzer_pb2.AnalyzerStackConfigureRequest(
        stack="dev", project=PROJECT, dry_run=True, config={k: config_string(v) for k, v in stack_config.items()})
    handed = tmp_path / "analyze-requests.pickle"
    handed.write_bytes(pickle.dumps({"configure": configure.SerializeToString(), "stack": stack.SerializeToString(),
                                     "requests": requests}))
    environment = PolicyPackProcess(PACK, project=PROJECT, stack="dev", stack_config=stack_config).environment()
    out = subprocess.run([process.python, "-c", _COMPARE, str(handed)], cwd=PACK, env=environment,
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        pytest.fail(f"comparison failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["compared"] == len(plan) > 100  # Knative Services, Lambda functions with roles, logs, aliases
    assert result["diagnostics"] > 200  # the plan has findings to compare, not only empty answers
    assert result["differ"] == []

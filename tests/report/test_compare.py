"""`--compare-to`: cost diff and new/resolved findings against a base report, in every format and at scale."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from preflight.report import render_html, render_markdown, render_terminal
from preflight.report.compare import BaseReportError, compare_reports, load_base_report
from preflight.report.markdown import GITHUB_COMMENT_LIMIT
from preflight.report.schema import validate_report
from tests.report.test_scale import balanced


def _changed(sample: dict[str, Any]) -> dict[str, Any]:
    """The sample after a change: one service 3x dearer, one finding fixed, one added, one message reworded."""
    head = copy.deepcopy(sample)
    band = head["predictions"]["multimodal-ai-inference"]["cost_usd_month"]
    for q in band:
        band[q] = round(band[q] * 3, 2)
    fixed = head["violations"].pop(0)
    added = copy.deepcopy(head["violations"][0])
    added.update(policy="knative-max-scale-bounded", resource_urn=added["resource_urn"] + "-new",
                 resource_name="brand-new", line=7)
    head["violations"].append(added)
    head["violations"][1]["message"] += " ($20,344.30/month now)"  # same finding, other words: not new
    return head, fixed, added


def test_comparison_names_cost_moves_and_new_and_resolved_findings(sample: dict[str, Any]) -> None:
    head, fixed, added = _changed(sample)
    comparison = compare_reports(head, sample, "main.json")
    head["comparison"] = comparison
    validate_report(head)
    first = comparison["cost"]["services"][0]
    base_p50 = sample["predictions"]["multimodal-ai-inference"]["cost_usd_month"]["p50"]
    assert first["service"] == "multimodal-ai-inference" and first["change"] == "changed"
    assert first["delta"]["p50"] == pytest.approx(round(base_p50 * 3, 2) - base_p50, abs=0.01)
    assert [s["change"] for s in comparison["cost"]["services"][1:]] == ["unchanged", "unchanged"]
    assert comparison["cost"]["total"]["delta"]["p50"] == pytest.approx(first["delta"]["p50"], abs=0.02)
    assert [(f["policy"], f["resource_name"]) for f in comparison["findings"]["new"]] == \
        [("knative-max-scale-bounded", "brand-new")]
    assert [(f["policy"], f["resource_name"]) for f in comparison["findings"]["resolved"]] == \
        [(fixed["policy"], fixed["resource_name"])]
    assert comparison["findings"]["unchanged"] == len(sample["violations"]) - 1


def test_line_items_say_which_line_moved(sample: dict[str, Any]) -> None:
    head = copy.deepcopy(sample)
    sample["predictions"]["invoice-parser"]["line_items"] = {"requests": 0.02, "duration": 4.73}
    head["predictions"]["invoice-parser"]["line_items"] = {"requests": 0.02, "duration": 23.65,
                                                           "provisioned_concurrency": 10.0}
    head["predictions"]["invoice-parser"]["cost_usd_month"] = {"p10": 20.0, "p50": 33.67, "p90": 60.0}
    head["comparison"] = compare_reports(head, sample, "main.json")
    validate_report(head)
    entry = next(s for s in head["comparison"]["cost"]["services"] if s["service"] == "invoice-parser")
    assert entry["line_items"]["duration"] == {"base": 4.73, "head": 23.65, "delta": 18.92}
    assert entry["line_items"]["provisioned_concurrency"] == {"base": 0.0, "head": 10.0, "delta": 10.0}
    assert "| duration +$18.92, provisioned concurrency +$10.00 |" in render_markdown(head)


def test_added_and_removed_services(sample: dict[str, Any]) -> None:
    head = copy.deepcopy(sample)
    gone = head["predictions"].pop("invoice-parser")
    head["predictions"]["new-svc"] = copy.deepcopy(gone)
    by_name = {s["service"]: s for s in compare_reports(head, sample, "b.json")["cost"]["services"]}
    assert by_name["invoice-parser"]["change"] == "removed" and by_name["invoice-parser"]["head"] is None
    assert by_name["invoice-parser"]["delta"]["p50"] == -round(gone["cost_usd_month"]["p50"], 2)
    assert by_name["new-svc"]["change"] == "added" and by_name["new-svc"]["base"] is None


def test_every_format_leads_with_the_diff(sample: dict[str, Any]) -> None:
    head, _, _ = _changed(sample)
    head["comparison"] = compare_reports(head, sample, "main.json")
    md = render_markdown(head)
    balanced(md)
    order = ["### What to fix first", "### Cost diff vs <code>main.json</code>",
             "### New findings vs <code>main.json</code> (1 new, 1 resolved", "### Cost (USD / month)"]
    positions = [md.index(h) for h in order]
    assert positions == sorted(positions)
    assert re.search(r"\| multimodal-ai-inference \| changed \| \$[\d,.]+ \| \$[\d,.]+ \| \*\*\+\$", md)
    assert "| <code>knative-max-scale-bounded</code> |" in md and "brand-new" in md
    out = io.StringIO()
    render_terminal(head, Console(file=out, width=120, no_color=True))
    text = out.getvalue()
    assert "Against the base report" in text and "1 new findings, 1 resolved" in text
    assert "new  " in text and "knative-max-scale-bounded" in text
    page = render_html(head)
    assert 'id="comparison"' in page and 'id="cost-diff"' in page and "knative-max-scale-bounded" in page


def test_without_a_base_nothing_changes(sample: dict[str, Any]) -> None:
    assert "Cost diff" not in render_markdown(sample) and 'id="comparison"' not in render_html(sample)


@pytest.mark.parametrize("services", [1000])
def test_comment_stays_in_budget_with_a_large_comparison(generated_report: Any, services: int) -> None:
    head = generated_report(services)
    base = copy.deepcopy(head)
    base["violations"] = base["violations"][: len(base["violations"]) // 2]  # half the findings are "new"
    for prediction in base["predictions"].values():
        prediction["cost_usd_month"] = {q: v / 2 for q, v in prediction["cost_usd_month"].items()}
    head["comparison"] = compare_reports(head, base, "main.json")
    md = render_markdown(head)
    assert len(md) <= GITHUB_COMMENT_LIMIT
    balanced(md)
    assert re.search(r"_… \d+ more new findings in the HTML/SARIF artifact\._", md)
    assert re.search(r"_… \d+ more services in the HTML/SARIF artifact\._", md)


def test_bad_base_reports_are_clear_errors(tmp_path: Path, sample: dict[str, Any]) -> None:
    with pytest.raises(BaseReportError, match=r"nope\.json: --compare-to: no such file"):
        load_base_report(tmp_path / "nope.json", project="serverless-guardrails")
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "stack": \n')
    with pytest.raises(BaseReportError, match=r"broken\.json:3: --compare-to: not JSON"):
        load_base_report(broken, project="serverless-guardrails")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"stack": "prod"}))
    with pytest.raises(BaseReportError, match=r"(?s)not a preflight report: .*wrong.json.*'schema_version' is a requ"):
        load_base_report(wrong, project="serverless-guardrails")
    other = tmp_path / "other.json"
    other.write_text(json.dumps(sample))
    with pytest.raises(BaseReportError, match=r"report of project 'serverless-guardrails', not 'acme'"):
        load_base_report(other, project="acme")
    assert load_base_report(other, project="serverless-guardrails")["stack"] == "prod"


def test_preflight_compare_to_end_to_end(tmp_path: Path) -> None:
    """The real command: a missing base is exit 2 before anything runs; a real base gives the diff in the JSON,
    the terminal and the Markdown comment."""
    from tests.preflight.helpers import full_project, preflight

    project = full_project(tmp_path, {})
    for name in ("multimodal-ai-inference.yaml",):
        (project / "services" / name).write_text((Path(__file__).resolve().parents[2] / "services" / name).read_text())
    missing = preflight(project, "preview", "--stack", "local", "--compare-to", "nope.json")
    assert missing.returncode == 2, missing.stderr
    assert "--compare-to nope.json: neither a report file nor a git ref" in missing.stderr
    assert "reading and validating declarations" not in missing.stderr  # refused before the run
    (project / "wrong.json").write_text('{"schema": "something-else"}')
    for bad, needle in (("nope.json", "nope.json: --observed: no such file"),
                        ("wrong.json", "wrong.json: --observed: field 'schema' must be 'preflight-observe/v1'")):
        refused = preflight(project, "preview", "--stack", "local", "--observed", bad)
        assert refused.returncode == 2 and needle in refused.stderr, refused.stderr[-2000:]
        assert "reading and validating declarations" not in refused.stderr and "Traceback" not in refused.stderr
    first = preflight(project, "preview", "--stack", "local", "--engine", "offline", "--quiet", "--json")
    assert first.returncode in (0, 1), first.stderr[-2000:]
    base = json.loads(first.stdout)
    dropped = base["violations"].pop()
    for prediction in base["predictions"].values():
        prediction["cost_usd_month"] = {q: round(v / 2, 2) for q, v in prediction["cost_usd_month"].items()}
    (project / "main.json").write_text(json.dumps(base))
    second = preflight(project, "preview", "--stack", "local", "--engine", "offline", "--compare-to", "main.json",
                       "--markdown", "out/comment.md")
    assert second.returncode == first.returncode, second.stderr[-2000:]
    assert "Against the base report" in second.stdout and "1 new findings, 0 resolved" in second.stdout
    comparison = json.loads((project / "out" / "preflight-local.json").read_text())["comparison"]
    assert [(f["policy"], f["resource_name"]) for f in comparison["findings"]["new"]] == \
        [(dropped["policy"], dropped["resource_name"])]
    assert comparison["cost"]["total"]["delta"]["p50"] > 0
    assert "### Cost diff vs <code>main.json</code>" in (project / "out" / "comment.md").read_text()
    # line items: the bill's lines at the P50 workload add up to the P50 price (to the cent per line)
    head = json.loads((project / "out" / "preflight-local.json").read_text())
    for prediction in head["predictions"].values():
        assert set(prediction["line_items"]) == {"cpu", "memory"}
        assert sum(prediction["line_items"].values()) == pytest.approx(prediction["cost_usd_month"]["p50"], abs=0.02)
    moved = comparison["cost"]["services"][0]["line_items"]
    assert all(entry["delta"] == pytest.approx(entry["head"] - entry["base"], abs=0.01) for entry in moved.values())


def test_compare_to_a_git_ref_previews_that_commit_in_a_throwaway_worktree(tmp_path: Path) -> None:
    import subprocess

    from tests.preflight.helpers import full_project, preflight

    project = full_project(tmp_path, {})
    seed = (Path(__file__).resolve().parents[2] / "services" / "multimodal-ai-inference.yaml").read_text()
    (project / "services" / "multimodal-ai-inference.yaml").write_text(seed)

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True, text=True,
                              timeout=60).stdout

    git("init", "-q", "-b", "main")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    # The change under review: a second service (uncommitted work counts; the base is the commit).
    (project / "services" / "second.yaml").write_text(seed.replace("name: multimodal-ai-inference", "name: second", 1))
    run = preflight(project, "preview", "--stack", "local", "--engine", "offline", "--compare-to", "main", "--json",
                    "--quiet")
    assert run.returncode in (0, 1), run.stderr[-2000:]
    comparison = json.loads(run.stdout)["comparison"]
    assert comparison["base"]["source"].startswith("main (")
    changes = {s["service"]: s["change"] for s in comparison["cost"]["services"]}
    assert changes == {"multimodal-ai-inference": "unchanged", "second": "added"}
    assert comparison["findings"]["new"] and all(f["resource_name"].startswith("second")
                                                 for f in comparison["findings"]["new"])
    assert comparison["findings"]["resolved"] == []
    assert git("worktree", "list").count("\n") == 1  # the throw-away worktree is gone
    # the user's tree untouched: only the change under review and this run's own report folder
    assert sorted(git("status", "--porcelain").splitlines()) == ["?? out/", "?? services/second.yaml"]

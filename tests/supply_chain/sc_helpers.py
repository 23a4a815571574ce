"""Shared builders for the supply-chain tests (cases.json, throwaway project dirs, Knative resources)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
    "extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
GHA_ISSUER = "https://token.actions.githubusercontent.com"
A_TXT_SHA256 = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
KSVC = "kubernetes:serving.knative.dev/v1:Service"


def load_cases(shared: Path) -> list[dict[str, Any]]:
    return json.loads((shared / "data" / "sigstore" / "cases.json").read_text())["cases"]


def case_project(tmp: Path, shared: Path, case: dict[str, Any]) -> dict[str, str]:
    """Copy a case's artifact, bundle and trusted root into a project dir; return repo-relative paths."""
    src = shared / "data" / "sigstore"
    paths = {"artifact": "evidence/artifact.bin", "bundle": "evidence/artifact.sigstore.json",
             "root": "evidence/trusted_root.json"}
    (tmp / "evidence").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / case["artifact"], tmp / paths["artifact"])
    shutil.copyfile(src / case["bundle"], tmp / paths["bundle"])
    shutil.copyfile(src / case["trusted_root"], tmp / paths["root"])
    return paths


def knative(name: str, annotations: dict[str, str], image: str, labels: dict[str, str] | None = None) -> dict:
    return {
        "type": KSVC,
        "name": name,
        "urn": f"urn:pulumi:test::proj::{KSVC}::{name}",
        "props": {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": "ai", "labels": labels or {}, "annotations": annotations},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
        },
    }


def settings(environment: str = "prod", **supply_chain: Any) -> dict[str, Any]:
    return {"environment": environment, "annotation_domain": "apexlogic.com", "supply_chain": supply_chain}


def shared_dir() -> Path:
    """`<repo>/../shared` (where CI puts it) or GUARDRAILS_SHARED_DIR; needed at collection time."""
    import os

    return Path(os.environ.get("GUARDRAILS_SHARED_DIR", REPO.parent / "shared")).resolve()

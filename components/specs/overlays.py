"""Per-environment overrides without copying whole files: `services/overlays/<stack>/*.yaml`.

An overlay document names its target by `apiVersion`, `kind` and `metadata.name`, and is applied as a JSON Merge
Patch (RFC 7386): mappings merge, lists and scalars replace, `null` deletes. Example (prod max scale):

    apiVersion: serving.knative.dev/v1
    kind: Service
    metadata: {name: multimodal-ai-inference}
    spec: {template: {metadata: {annotations: {autoscaling.knative.dev/maxScale: "30"}}}}
"""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def overlay_key(doc: dict[str, Any]) -> tuple[str, str, str] | None:
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return None
    return str(doc.get("apiVersion")), str(doc.get("kind")), meta["name"]

"""Who last set a field of a live Kubernetes object, from its `metadata.managedFields` (server-side apply).

Each entry names a field manager (`kubectl-patch`, `kubectl-edit`, `pulumi-kubernetes-…`, a controller), the
operation (`Apply` or `Update`), the time, and in `fieldsV1` the set of fields it owns as a trie:
`{"f:spec": {"f:template": {"f:metadata": {"f:annotations": {"f:autoscaling.knative.dev/maxScale": {}}}}}}`.
List items are `k:{"name":"app"}` (associative lists, by their key fields), `v:<json>` (sets) or `i:<n>`; a field
whose value is owned as a whole is a leaf (`{}` or a `.` entry) — a path below it belongs to the same manager.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]
# The field managers of Pulumi's Kubernetes provider start with this (`pulumi-kubernetes-<random>`; a fixed name
# when the provider's `fieldManager` option is set, which the user then tells us with --pulumi-manager).
PULUMI_MANAGER_PREFIX = "pulumi-kubernetes"


@dataclass(frozen=True)
class FieldOwner:
    manager: str
    operation: str  # Apply | Update
    time: str | None  # RFC 3339, as the API server wrote it
    subresource: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {"manager": self.manager, "operation": self.operation, "time": self.time}
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def is_pulumi(manager: str, pulumi_managers: Sequence[str] = ()) -> bool:
    return manager.startswith(PULUMI_MANAGER_PREFIX) or manager in pulumi_managers


def _item_key(item: Any, key: str) -> bool:
    """Does the fieldsV1 list key (`k:{...}`, `v:...`, `i:n`) name this list element?"""
    if key.startswith("k:"):
        try:
            wanted = json.loads(key[2:])
        except ValueError:
            return False
        return isinstance(item, dict) and isinstance(wanted, dict) and all(item.get(k) == v for k, v in wanted.items())
    if key.startswith("v:"):
        try:
            return json.loads(key[2:]) == item
        except ValueError:
            return False
    return False


def owns(fields: Any, path: Path, live: Any) -> bool:
    """Whether the fieldsV1 trie `fields` covers `path` in the object `live`."""
    node = fields
    value = live
    for part in path:
        if not isinstance(node, dict) or not node or set(node) == {"."}:
            return isinstance(node, dict)  # a leaf owns everything below it
        if isinstance(part, str):
            nxt = node.get(f"f:{part}")
            value = value.get(part) if isinstance(value, dict) else None
        else:
            item = value[part] if isinstance(value, list) and 0 <= part < len(value) else None
            nxt = node.get(f"i:{part}")
            if nxt is None:
                nxt = next((sub for key, sub in node.items() if _item_key(item, key)), None)
            value = item
        if nxt is None:
            return False
        node = nxt
    return isinstance(node, dict)


def owners(live: dict[str, Any], path: Path) -> list[FieldOwner]:
    """Every manager whose field set covers `path`, the most recent first (entries without a time last)."""
    metadata = live.get("metadata") if isinstance(live, dict) else None
    entries = metadata.get("managedFields") if isinstance(metadata, dict) else None
    found = []
    for entry in entries or []:
        if not isinstance(entry, dict) or entry.get("fieldsType", "FieldsV1") != "FieldsV1":
            continue
        if owns(entry.get("fieldsV1") or {}, path, live):
            found.append(FieldOwner(str(entry.get("manager") or "unknown"), str(entry.get("operation") or "?"),
                                    entry.get("time"), entry.get("subresource")))
    return sorted(found, key=lambda o: o.time or "", reverse=True)


def last_apply(live: dict[str, Any], pulumi_managers: Sequence[str] = ()) -> FieldOwner | None:
    """Pulumi's own most recent entry on the object (its last server-side apply)."""
    metadata = live.get("metadata") if isinstance(live, dict) else None
    entries = [e for e in (metadata or {}).get("managedFields") or [] if isinstance(e, dict)]
    mine = [FieldOwner(str(e.get("manager")), str(e.get("operation") or "?"), e.get("time"))
            for e in entries if is_pulumi(str(e.get("manager") or ""), pulumi_managers)]
    return max(mine, key=lambda o: o.time or "", default=None)

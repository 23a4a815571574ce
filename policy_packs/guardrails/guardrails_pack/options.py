"""Options every policy of the pack accepts, beside each control's own `config_schema`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Every policy accepts this option: the project whose files (evidence, usage histories, previous state) the
# controls may read. preflight sets it; a plain `pulumi preview --policy-pack` gets it from --policy-pack-config.
PROJECT_DIR_OPTION = "project_dir"
PROJECT_DIR_SCHEMA: Mapping[str, Any] = {
    "type": "string", "default": "",
    "description": "Project directory that declared evidence files are relative to (set by preflight)",
}

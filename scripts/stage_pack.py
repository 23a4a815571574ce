"""Stage the policy pack for `pulumi policy publish`: the pack folder without its test fixtures.

`pulumi policy publish` archives the pack's directory as it is (only `.gitignore` rules are honoured), so publishing
from the repository would ship every control's `fixtures/` and `expected.yaml` (~430 files that only the test suite
reads). This copies what the pack runs from into DEST and writes a `.gitignore` there so the publish archive also
leaves out a local `venv/` and byte-code:

    .venv/bin/python scripts/stage_pack.py out/guardrails-pack
    cd out/guardrails-pack && pulumi policy publish <org>

The staged copy is the one the stand-alone tests run (tests/standalone), so what is published is what was tested.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

PACK = Path(__file__).resolve().parent.parent / "policy_packs" / "guardrails"
# Test material and local state: never part of the published pack.
EXCLUDED = ("fixtures", "expected.yaml", "venv", "__pycache__", "*.pyc")
PUBLISH_IGNORE = "venv/\n__pycache__/\n*.pyc\n"


def stage_pack(dest: Path, pack: Path = PACK) -> Path:
    """Copy `pack` to `dest` (which must not exist) without EXCLUDED; returns `dest`."""
    if dest.exists():
        raise FileExistsError(f"{dest}: already exists (stage into a new folder)")
    shutil.copytree(pack, dest, ignore=shutil.ignore_patterns(*EXCLUDED), symlinks=False)
    (dest / ".gitignore").write_text(PUBLISH_IGNORE)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="a new folder for the publishable pack")
    args = parser.parse_args(argv)
    try:
        staged = stage_pack(args.dest)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    files = sum(1 for p in staged.rglob("*") if p.is_file())
    print(f"staged {staged} ({files} files): cd {staged} && pulumi policy publish <org>")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

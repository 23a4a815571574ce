#!/usr/bin/env bash
# Third-party wheels a stand-alone copy of each policy pack needs (its requirements.txt, minus this repo's own
# libraries), downloaded once per machine at install time so the stand-alone pack tests run with --no-index.
#   GUARDRAILS_WHEELHOUSE=...   where (default ~/.cache/serverless-guardrails/wheelhouse)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PY:-$repo/.venv/bin/python}"
wheelhouse="${GUARDRAILS_WHEELHOUSE:-$HOME/.cache/serverless-guardrails/wheelhouse}"
mkdir -p "$wheelhouse"
own="$(mktemp -d)"
trap 'rm -rf "$own"' EXIT
# The project's libraries are built here only so that pip can resolve their dependencies; the tests build their own.
"$py" -m pip wheel --quiet --no-deps --no-build-isolation -w "$own" \
  "$repo/packages/core" "$repo/packages/predict" "$repo/packages/supply-chain"
for pack in "$repo"/policy_packs/*/; do
  [ -f "$pack/requirements.txt" ] || continue
  echo "[pack-wheelhouse] $(basename "$pack"): downloading what requirements.txt needs into $wheelhouse" >&2
  "$py" -m pip download --quiet --find-links "$own" --find-links "$wheelhouse" -d "$wheelhouse" \
    -r "$pack/requirements.txt"
done
rm -f "$wheelhouse"/serverless_guardrails_*.whl
echo "[pack-wheelhouse] $(ls "$wheelhouse" | wc -l) wheels in $wheelhouse" >&2

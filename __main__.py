"""serverless-guardrails: deploy the declarations in services/ for the selected stack."""

from pathlib import Path

from components.program import run

run(Path(__file__).resolve().parent)

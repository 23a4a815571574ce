"""serverless-guardrails CrossGuard pack: control framework, shared helpers and the controls themselves."""

PACK_NAME = "serverless-guardrails"

"""The neutral core of serverless-guardrails: what every other part shares and nothing else.

Layers (a lower one never imports a higher one; tests/test_layers.py checks it):
core <- libraries (guardrails_predict, guardrails_supply_chain) <- policy packs <- preflight; components <- core.
"""

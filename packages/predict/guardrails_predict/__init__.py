"""Cost and risk predictions: workload quantiles (XGBoost on a real trace), capacity risk, change risk,
budget/risk/anomaly guardrails and rightsizing. Entry point: `guardrails_predict.plan.predict_plan`.

Importing the package is cheap: numpy and XGBoost load only with the modules that use them, so a policy pack
that has prediction controls starts without them.
"""

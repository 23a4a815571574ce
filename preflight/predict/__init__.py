"""Cost and risk predictions: workload quantiles (XGBoost on a real trace), capacity risk, change risk,
budget/risk/anomaly guardrails and rightsizing. Entry point: `predict_plan`."""

from preflight.predict.model_store import ModelError
from preflight.predict.plan import PredictionError, predict_plan, predict_services
from preflight.predict.resources import PredictionInputError

__all__ = ["ModelError", "PredictionError", "PredictionInputError", "predict_plan", "predict_services"]

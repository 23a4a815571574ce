"""Observe what runs (Prometheus for Knative, CloudWatch for Lambda) as data the predictions and actions use."""

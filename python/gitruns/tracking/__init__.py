"""mlflow.tracking's names: MlflowClient, as MLflow exposes it there."""

from ..client import MlflowClient  # noqa: F401

__all__ = ["MlflowClient"]

"""Where a new release comes from: explicit flags, a finished training run on Argo
Workflows, or a version in an MLflow model registry. Each source yields a `Candidate`."""
from generator.releases.candidate import Candidate

__all__ = ["Candidate"]

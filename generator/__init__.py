"""modelops: model specs to a GitOps repository Argo CD can sync, and the policy gate over it."""

__version__ = "0.1.0"

"""Git-backed workflows: rendered diffs, promotion pull requests, the release matrix."""

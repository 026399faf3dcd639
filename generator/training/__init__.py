"""Reference trainer and capacity planner.

Runs inside the training image, so it imports nothing else from `generator`; `planner`
and `config` import no torch either, so the generator can plan without the training
dependencies. The trainer CLI is `python -m generator.training` (see `cli`).
"""
__all__ = ["cli", "config", "planner"]

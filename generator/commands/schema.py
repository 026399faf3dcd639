"""`modelops schema`: print the JSON Schema of the model spec (or environment file) for editors."""
from __future__ import annotations

import argparse
import json

from generator.spec.schema import ENVIRONMENT_SCHEMA, MODEL_SCHEMA

__all__ = ["configure", "run", "schema_text"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", nargs="?", choices=["model", "environment"], default="model",
                        help="which schema (default: model)")


def schema_text(kind: str) -> str:
    return json.dumps(MODEL_SCHEMA if kind == "model" else ENVIRONMENT_SCHEMA, indent=2, sort_keys=True) + "\n"


def run(args: argparse.Namespace) -> int:
    print(schema_text(args.kind), end="")
    return 0

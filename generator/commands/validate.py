"""`modelops validate FILE...`: kubeconform's job for any manifests, CEL rules included.

Exit codes follow kubeconform: 0 when every resource is valid or skipped, 1 when any is
invalid or could not be validated (unparsable, no schema). Bad flags exit 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from generator.errors import EXIT_FINDINGS, EXIT_OK, ModelopsError
from generator.validate.kubernetes_versions import kubernetes_schema_version
from generator.validate.manifests import (
    ResourceResult,
    ValidateOptions,
    manifest_files,
    validate_text,
)
from generator.validate.output import OUTPUTS, OutputOptions, render_results
from generator.validate.schemas import COMPILE_AFTER, SchemaRegistry
from generator.writeout import write_output

__all__ = ["DEFAULT_KUBERNETES_VERSION", "configure", "run"]

DEFAULT_KUBERNETES_VERSION = "1.33"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="manifests or folders of them; '-' reads stdin")
    parser.add_argument("--kubernetes-version", default=DEFAULT_KUBERNETES_VERSION, metavar="X.Y",
                        help=f"Kubernetes version of the built-in schemas (default: {DEFAULT_KUBERNETES_VERSION})")
    parser.add_argument("--schema-dir", action="append", type=Path, default=[], metavar="DIR",
                        help="more schemas, in kubeconform's layout or as CRD YAML files (repeatable; "
                        "searched before the vendored CRDs)")
    parser.add_argument("--output", "-o", choices=sorted(OUTPUTS), default="text", help="output format")
    parser.add_argument("--summary", action="store_true", help="print a summary at the end")
    parser.add_argument("--verbose-results", action="store_true", help="also list valid and skipped resources")
    parser.add_argument("--ignore-missing-schemas", action="store_true",
                        help="skip resources whose schema is unknown instead of failing them")
    parser.add_argument("--skip", default="", metavar="KINDS",
                        help="comma-separated kinds or GVKs (apps/v1/Deployment) to skip")
    parser.add_argument("--reject", default="", metavar="KINDS",
                        help="comma-separated kinds or GVKs (apps/v1/Deployment) to reject")
    parser.add_argument("--no-strict", action="store_true",
                        help="allow fields the schemas do not declare (default: strict, as the API server's "
                        "strict field validation)")
    parser.add_argument("--report", metavar="FILE", help="write the output to FILE (atomically) instead of stdout")


def _kinds(text: str) -> frozenset[str]:
    return frozenset(k.strip() for k in text.split(",") if k.strip())


def _validate_file(name: str, registry: SchemaRegistry, options: ValidateOptions) -> list[ResourceResult]:
    if name == "-":
        return validate_text(sys.stdin.read(), "stdin", registry, options)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        return [ResourceResult(name, "error", message=f"cannot read file: {reason}")]
    return validate_text(text, name, registry, options)


def validate_paths(names: list[str], registry: SchemaRegistry, options: ValidateOptions) -> list[ResourceResult]:
    return [result for path in manifest_files(names) for result in _validate_file(str(path), registry, options)]


def _compile_after(names: list[str]) -> int:
    """0 (compile every schema at once) when there are at least COMPILE_AFTER files: a
    corpus pays the compile once, a file or two is faster without it."""
    for count, _ in enumerate(manifest_files(names), start=1):
        if count >= COMPILE_AFTER:
            return 0
    return COMPILE_AFTER


def run(args: argparse.Namespace) -> int:
    for directory in args.schema_dir:
        if not directory.is_dir():
            raise ModelopsError(f"--schema-dir {directory}: not a directory")
    try:
        kubernetes_schema_version(args.kubernetes_version)
    except ModelopsError as error:
        raise ModelopsError(f"--kubernetes-version: {error}") from None
    registry = SchemaRegistry(args.kubernetes_version, args.schema_dir, strict=not args.no_strict,
                              compile_after=_compile_after(args.files))
    options = ValidateOptions(ignore_missing_schemas=args.ignore_missing_schemas, skip_kinds=_kinds(args.skip),
                              reject_kinds=_kinds(args.reject))
    results = validate_paths(args.files, registry, options)
    text = render_results(args.output, results, OutputOptions(summary=args.summary, verbose=args.verbose_results,
                                                              stdin=args.files == ["-"]))
    if args.report:
        write_output(Path(args.report), text)
    else:
        sys.stdout.write(text)
    return EXIT_FINDINGS if any(r.failed for r in results) else EXIT_OK

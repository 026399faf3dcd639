"""Benchmark `modelops check` on a synthetic repository (run by hand; prints figures).

    python bench/check_bench.py --models 1000            # cold run, then one spec changed
    python bench/check_bench.py --models 100 --keep DIR  # keep the generated repository

The warm runs are repeated (REPEATS) and the median is printed with the fastest and
slowest run (min, max).

The repository has N models cycling through the example's three shapes (vLLM LLM with
multi-node FSDP training, a CPU model on a custom runtime, a Triton model with DDP
training) across dev, staging and prod, so N models give 3N model-environment pairs,
every serving values file rendered through the real Helm engine. Each run is a fresh
`modelops check` process, as CI runs it.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ("support-chat", "churn-scorer", "shelf-vision")


def make_repository(dest: Path, count: int) -> None:
    shutil.copytree(ROOT / "environments", dest / "environments",
                    ignore=lambda d, names: [n for n in names if n != "environment.yaml" and Path(d).name in
                                             ("dev", "staging", "prod")])
    for env_file in (dest / "environments").glob("*/environment.yaml"):
        text = re.sub(r"quota: \d+", "quota: 1000000", env_file.read_text())
        env_file.write_text(text)
    (dest / "models").mkdir()
    templates = {name: (ROOT / "models" / f"{name}.yaml").read_text() for name in SHAPES}
    for index in range(count):
        shape = SHAPES[index % len(SHAPES)]
        name = f"m{index:05d}-{shape}"[:53]
        text = templates[shape].replace(f"name: {shape}", f"name: {name}")
        (dest / "models" / f"{name}.yaml").write_text(text)


def timed_check(repo: Path, *extra: str) -> tuple[float, dict[str, float], int]:
    command = [sys.executable, "-m", "generator", "-C", str(repo), "check", "--format", "json",
               "--output", str(repo / "report.json"), "--timings", *extra]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          check=False)  # exit 1 (findings) is a result here
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"check failed ({done.returncode}):\n{done.stderr[-3000:]}")
    stages = {}
    for line in done.stderr.splitlines():
        match = re.match(r"timing: (\S+): ([0-9.]+)s?$", line)
        if match:
            stages[match[1]] = float(match[2])
    documents = json.loads((repo / "report.json").read_text())["summary"].get("documents_checked", 0)
    return elapsed, stages, documents


REPEATS = 5  # the warm runs are short, and this machine varies by about 10% run to run


def median_of(runs: int, measure) -> tuple[float, dict[str, float], int]:
    """The run with the median wall time of `runs`, its range printed alongside."""
    results = sorted((measure(run) for run in range(runs)), key=lambda result: result[0])
    elapsed, stages, documents = results[len(results) // 2]
    stages = {**stages, "min": results[0][0], "max": results[-1][0]}
    return elapsed, stages, documents


def report(label: str, elapsed: float, stages: dict[str, float], documents: int) -> None:
    counts = ("workers", "cached-pairs")
    parts = ", ".join(f"{k} {int(v)}" if k in counts else f"{k} {v:.2f}s" for k, v in stages.items())
    rate = documents / elapsed if elapsed else 0.0
    print(f"{label:28} {elapsed:7.2f}s  {documents:6d} documents  {rate:8.0f} docs/s  [{parts}]", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="generate the repository here and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="modelops-bench-"))
    try:
        make_repository(folder, args.models)
        print(f"{args.models} models x 3 environments = {3 * args.models} pairs, {os.cpu_count()} CPUs", flush=True)
        report("cold (no cache)", *timed_check(folder, "--no-cache"))
        report("cold (cache filled)", *timed_check(folder))
        report("warm, nothing changed", *median_of(REPEATS, lambda _: timed_check(folder)))
        spec = min((folder / "models").glob("*support-chat.yaml"))
        original = spec.read_text()

        def change_one_spec(run: int) -> tuple[float, dict[str, float], int]:
            # training only, so no environment's GPU total changes; a new value every run
            spec.write_text(original.replace("retries: 3", f"retries: {4 + run}"))
            return timed_check(folder)

        report("warm, one spec changed", *median_of(REPEATS, change_one_spec))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

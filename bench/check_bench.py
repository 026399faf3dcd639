"""Benchmark `modelops check` on a synthetic repository (run by hand; prints figures).

    python bench/check_bench.py --models 1000     # every figure of issue 16, in one run
    python bench/check_bench.py --models 100      # the same, quickly (growth 10/100/300, shards over 1000)
    python bench/check_bench.py --models 100 --only cold,warm --keep DIR

Figures, in order: cold (no cache), cold filling the cache, nothing changed and one spec
changed (median of REPEATS with their range), peak RSS of the cold run (the whole process
tree), the naive pipeline a team scripts today (per file: a fresh Helm chart load and
render, kubernetes-validate per document, a fresh Rego engine per file) and our
documents-per-second ratio against it, the engine floor (the same Helm renders, compiled
schema validations and Rego evaluations back to back in one warm process, median of
FLOOR_REPEATS passes over a sample that holds every environment) and our ratio to it, the policy stage per installed engine, `modelops validate` resources per second per
core (median of VALIDATE_REPEATS), growth over N (with an SVG plot), and 10 N models over
8 shards run one after another, merged and compared with the unsharded run.

The repository has N models cycling through the example's three shapes (vLLM LLM with
multi-node FSDP training, a CPU model on a custom runtime, a Triton model with DDP
training) across dev, staging and prod, so N models give 3N model-environment pairs,
every serving values file rendered through the real Helm engine. Each check is a fresh
`modelops check` process, as CI runs it. Figures depend on the machine: compare runs made
on the same one.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHAPES = ("support-chat", "churn-scorer", "shelf-vision")
REPEATS = 5  # the warm runs are short, and this machine varies by about 10% run to run
VALIDATE_REPEATS = 3  # a run is about 20 s; one alone is at the mercy of that variation
SECTIONS = ("cold", "warm", "naive", "floor", "engines", "validate", "growth", "shards")
TARGETS = {"cold": 10.0, "one spec changed": 1.0, "nothing changed": 0.5}


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


# ----- running modelops as CI does, with the peak RSS of its process tree -----

def _tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and every descendant (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack += children.get(current, [])
    return total


CPU_SECONDS = [0.0]  # user+sys of the last measured command and its children: steadier than wall on a busy machine


def run_measured(command: list[str]) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """(wall seconds, peak RSS bytes of the tree, the finished process); CPU time in CPU_SECONDS."""
    # Bytecode as an installed package has it: with PYTHONDONTWRITEBYTECODE set (as in some
    # sandboxes) every run would recompile modelops's own modules, about 0.2 s a run.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPATH": str(ROOT)}
    before = os.times()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], _tree_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    after = os.times()
    CPU_SECONDS[0] = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return elapsed, peak[0], subprocess.CompletedProcess(command, process.returncode, out, err)


def modelops(repo: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "generator", "-C", str(repo), *args]


def timed_check(repo: Path, *extra: str) -> tuple[float, dict[str, float], int, int]:
    """(wall, stage timings, documents, peak RSS) of one `modelops check` process."""
    report = repo / "report.json"
    elapsed, peak, done = run_measured(modelops(repo, "check", "--format", "json", "--output", str(report),
                                                "--timings", *extra))
    if done.returncode not in (0, 1):
        raise SystemExit(f"check failed ({done.returncode}):\n{done.stderr[-3000:]}")
    stages = {}
    for line in done.stderr.splitlines():
        match = re.match(r"timing: (\S+): ([0-9.]+)s?$", line)
        if match:
            stages[match[1]] = float(match[2])
    documents = json.loads(report.read_text())["summary"].get("documents_checked", 0)
    stages["cpu"] = CPU_SECONDS[0]
    return elapsed, stages, documents, peak


def median_of(runs: int, measure: Callable[[int], tuple[float, dict[str, float], int, int]]):
    """The run with the median wall time of `runs`, with the range."""
    results = sorted((measure(run) for run in range(runs)), key=lambda result: result[0])
    elapsed, stages, documents, peak = results[len(results) // 2]
    return elapsed, {**stages, "min": results[0][0], "max": results[-1][0]}, documents, peak


def report(label: str, elapsed: float, stages: dict[str, float], documents: int, peak: int = 0) -> None:
    counts = ("workers", "cached-pairs", "pairs", "answered-whole")
    parts = ", ".join(f"{k} {int(v)}" if k in counts else f"{k} {v:.2f}s" for k, v in stages.items())
    rate = documents / elapsed if elapsed else 0.0
    memory = f"  peak RSS {peak / 2**20:6.0f} MiB" if peak else ""
    print(f"{label:30} {elapsed:7.2f}s  {documents:7d} documents  {rate:8.0f} docs/s{memory}  [{parts}]", flush=True)
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1):
        print(f"  (load average {load:.1f} on {os.cpu_count()} CPUs: wall times are inflated; see cpu)", flush=True)


def verdict(label: str, value: float, target: float, unit: str = "s", lower_is_better: bool = True) -> str:
    met = value <= target if lower_is_better else value >= target
    sign = "<=" if lower_is_better else ">="
    return f"  target {label}: {value:.2f}{unit} (target {sign} {target:g}{unit}): {'MET' if met else 'NOT MET'}"


# ----- in-process figures: the naive pipeline, the engine floor, the policy stage per engine -----

class Workload:
    """A sample of the repository's rendered files, their documents and policy inputs (built untimed)."""

    def __init__(self, repo_root: Path, pairs: int):
        from generator.check.documents import documents_of
        from generator.check.gate import default_policy_dirs
        from generator.check.run import policy_inputs
        from generator.planning import plan_for_policy
        from generator.render.pipeline import render_pairs
        from generator.spec.load import load_repository

        self.repo = load_repository(repo_root, cache=False)
        # every environment of each model, so the sample holds dev, staging and prod as the repository does
        chosen = [(env, name) for name in sorted(self.repo.models) for env in sorted(self.repo.environments)]
        self.files = render_pairs(self.repo, chosen[:pairs])
        self.per_file = [documents_of(file, self.repo.root) for file in self.files]
        self.documents = [doc for docs in self.per_file for doc in docs]
        inputs = policy_inputs(self.documents, self.repo, plan_for_policy)
        self.inputs_per_file, start = [], 0
        for docs in self.per_file:
            self.inputs_per_file.append(inputs[start:start + len(docs)])
            start += len(docs)
        self.inputs = inputs
        self.policy_dirs = [str(d) for d in default_policy_dirs(self.repo.root)]
        self.version = "1.33"


def naive_pipeline(work: Workload, files: int) -> tuple[float, int]:
    """(seconds, documents) over the first `files` files: per file a fresh chart,
    kubernetes-validate per document, a fresh Rego engine (as `conftest test` per file)."""
    import helm_python
    import kubernetes_validate
    import yaml

    from generator.policy.engine import PolicySet
    from generator.render.context import CHART_PATH
    from generator.resources import first_existing

    chart_dir = str(first_existing(work.repo.root, CHART_PATH))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    started = time.perf_counter()
    documents = unvalidated = 0
    for file, inputs in list(zip(work.files, work.inputs_per_file, strict=True))[:files]:
        objects = [d for d in file.documents if isinstance(d, dict)]
        if file.path.endswith("/serving/values.yaml"):
            manifests = helm_python.Chart.load(chart_dir).render(objects[0], name=file.model, namespace="default")
            objects += [d for text in manifests.values() for d in yaml.load_all(text, Loader=loader) if d]
        for obj in objects:
            try:
                kubernetes_validate.validate(obj, work.version, strict=True)
            except Exception:  # noqa: BLE001 - a script reports and goes on; CRDs have no built-in schema there
                unvalidated += 1
        PolicySet.load(work.policy_dirs).evaluate_many(inputs)
        documents += len(inputs)
    return time.perf_counter() - started, documents


def _compiled(schema: Any) -> Any:
    """jsonschema-rs's validator, or python-jsonschema's for the upstream schemas that
    jsonschema-rs refuses to compile (prometheus-operator's `(?i)` patterns), as `check` does."""
    import jsonschema_rs

    try:
        return schema.fast
    except jsonschema_rs.ValidationError:
        return schema.readable


FLOOR_REPEATS = 3  # one pass is a few seconds, and its first one pays Helm's and regorus's warm-up


def engine_floor(work: Workload) -> tuple[float, dict[str, float]]:
    """The median of FLOOR_REPEATS warm passes of `_floor_pass` (a first pass warms up untimed),
    with each stage's median: the floor is what the engines cost in a warm process."""
    _floor_pass(work)
    passes = sorted((_floor_pass(work) for _ in range(FLOOR_REPEATS)), key=lambda run: run[0])
    stages = {stage: statistics.median(run[1][stage] for run in passes) for stage in passes[0][1]}
    return passes[len(passes) // 2][0], {**stages, "min": passes[0][0], "max": passes[-1][0]}


def _floor_pass(work: Workload) -> tuple[float, dict[str, float]]:
    """Seconds for the same Helm renders, compiled schema checks and Rego evaluations, nothing else."""
    import helm_python
    import yaml

    from generator.policy.engine import PolicySet
    from generator.render.context import CHART_PATH
    from generator.resources import first_existing
    from generator.validate.schemas import SchemaRegistry

    chart = helm_python.Chart.load(str(first_existing(work.repo.root, CHART_PATH)))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    registry = SchemaRegistry(work.version)
    checked = [d.document for d in work.documents if d.has_schema]
    validators = [_compiled(registry.validator(d["apiVersion"], d["kind"])) for d in checked]
    policies = PolicySet.load(work.policy_dirs)
    values = [(f, f.documents[0]) for f in work.files if f.path.endswith("/serving/values.yaml")]
    stages = {}
    mark = time.perf_counter()
    for file, data in values:
        for text in chart.render(data, name=file.model, namespace="default").values():
            list(yaml.load_all(text, Loader=loader))
    stages["helm"] = time.perf_counter() - mark
    mark = time.perf_counter()
    for validator, document in zip(validators, checked, strict=True):
        validator.is_valid(document)
    stages["schema"] = time.perf_counter() - mark
    mark = time.perf_counter()
    policies.evaluate_many(work.inputs)
    stages["policy"] = time.perf_counter() - mark
    return sum(stages.values()), stages


def policy_per_engine(work: Workload) -> None:
    from generator.policy.engine import PolicySet
    from generator.policy.engines import installed_engines

    for name in installed_engines():
        try:
            policies = PolicySet.load(work.policy_dirs, engine=name)
        except Exception as error:  # noqa: BLE001 - an engine that cannot load is reported, not fatal
            print(f"  policy stage, {name:10}: cannot load ({error})")
            continue
        policies.evaluate_many(work.inputs[:20])  # warm-up
        times = []
        for _ in range(3):
            mark = time.perf_counter()
            results = policies.evaluate_many(work.inputs)
            times.append(time.perf_counter() - mark)
        per_doc = statistics.median(times) / len(work.inputs) * 1000
        flagged = sum(1 for found in results if found)
        cpu, worst = _cpu_per_document(policies, work.inputs)
        print(f"  policy stage, {getattr(policies, 'engine_label', name):24} {per_doc:6.3f} ms/document "
              f"(median of 3, range {min(times):.2f}-{max(times):.2f}s over {len(work.inputs)} documents, "
              f"{flagged} with findings); CPU {cpu:.3f} ms/document, worst document {worst[0]:.2f} ms "
              f"({worst[1]})", flush=True)


def _cpu_per_document(policies: Any, inputs: list[Any]) -> tuple[float, tuple[float, str]]:
    """Mean CPU milliseconds per document (what load on a shared machine inflates least)
    and the slowest document: no input may be pathological."""
    slowest = (0.0, "")
    started = time.process_time()
    for document in inputs:
        mark = time.process_time()
        policies.evaluate(document)
        spent = (time.process_time() - mark) * 1000
        if spent > slowest[0]:
            slowest = (spent, f"{document.get('kind')} {document.get('file', '')}")
    return (time.process_time() - started) * 1000 / max(1, len(inputs)), slowest


# ----- validate, growth, shards -----

def validate_speed(work_root: Path, folder: Path) -> None:
    """`modelops validate` over every document `check` sees that is applied as it stands (Helm
    output too; not the JobSets embedded in workflows, whose `{{workflow.name}}` Argo fills in)."""
    from generator.check.documents import collect_documents
    from generator.render.pipeline import render_repository
    from generator.spec.load import load_repository
    from generator.yamlio import dump_documents

    repo = load_repository(work_root, cache=False)
    corpus = folder / "corpus"
    by_file: dict[str, list[Any]] = {}
    for doc in collect_documents(render_repository(repo), repo.root):
        if doc.has_schema and doc.source != "embedded":
            by_file.setdefault(doc.file, []).append(doc.document)
    for index, (name, documents) in enumerate(sorted(by_file.items())):
        target = corpus / f"{index:06d}-{Path(name).name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dump_documents(documents))
    resources = sum(len(d) for d in by_file.values())
    runs = sorted((run_measured(modelops(work_root, "validate", "--summary", str(corpus)))
                   for _ in range(VALIDATE_REPEATS)), key=lambda run: run[0])
    elapsed, peak, done = runs[len(runs) // 2]
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    rate = resources / elapsed
    print(f"validate (1 process = 1 core)  {elapsed:7.2f}s  {resources:7d} resources  {rate:8.0f} resources/s per core"
          f"  (median of {len(runs)}, range {resources / runs[-1][0]:.0f}-{resources / runs[0][0]:.0f})"
          f"  peak RSS {peak / 2**20:.0f} MiB  exit {done.returncode}  [{summary}]", flush=True)
    print(verdict("validate per core vs kubeconform's 7,500/s on 4 cores", rate, 7500 / 4, " res/s",
                  lower_is_better=False))


def growth(sizes: list[int], folder: Path, svg: Path) -> None:
    points = []
    for size in sizes:
        repo = folder / f"growth-{size}"
        make_repository(repo, size)
        elapsed, stages, documents, peak = timed_check(repo, "--no-cache")
        report(f"growth N={size} (cold)", elapsed, stages, documents, peak)
        points.append((size, elapsed, peak / 2**20, documents))
        shutil.rmtree(repo, ignore_errors=True)
    svg.write_text(growth_svg(points))
    print(f"  growth plot written to {svg.relative_to(ROOT) if svg.is_relative_to(ROOT) else svg}", flush=True)


def growth_svg(points: list[tuple[int, float, float, int]]) -> str:
    """Two small line charts (seconds and peak MiB against N), plain SVG, no scripts, no fonts fetched."""
    width, height, pad = 320, 200, 40
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" height="{height}" '
              'font-family="sans-serif" font-size="11">')]
    for panel, (column, label) in enumerate(((1, "cold check, seconds"), (2, "peak RSS, MiB"))):
        left = panel * width
        top_value = max(p[column] for p in points) * 1.1 or 1.0
        top_n = max(p[0] for p in points) * 1.05
        xy = [(left + pad + (width - 2 * pad) * p[0] / top_n,
               height - pad - (height - 2 * pad) * p[column] / top_value) for p in points]
        parts.append(f'<text x="{left + pad}" y="20">{label} against models (N)</text>')
        parts.append(f'<line x1="{left + pad}" y1="{height - pad}" x2="{left + width - pad}" y2="{height - pad}" '
                     'stroke="black"/>')
        parts.append(f'<line x1="{left + pad}" y1="{pad}" x2="{left + pad}" y2="{height - pad}" stroke="black"/>')
        parts.append('<polyline fill="none" stroke="steelblue" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy) + '"/>')
        for (x, y), point in zip(xy, points, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="steelblue"/>')
            parts.append(f'<text x="{x:.1f}" y="{height - pad + 14}" text-anchor="middle">{point[0]}</text>')
            parts.append(f'<text x="{x + 4:.1f}" y="{y - 6:.1f}">{point[column]:.1f}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def shards(count: int, shard_count: int, folder: Path) -> None:
    repo = folder / f"shards-{count}"
    make_repository(repo, count)
    full = repo / "full.json"
    elapsed, peak, done = run_measured(modelops(repo, "check", "--no-cache", "--format", "json", "--output", str(full)))
    print(f"shards: N={count} unsharded       {elapsed:7.2f}s  peak RSS {peak / 2**20:.0f} MiB  exit {done.returncode}",
          flush=True)
    total, outputs = 0.0, []
    for index in range(1, shard_count + 1):
        out = repo / f"shard-{index}.json"
        elapsed, peak, done = run_measured(modelops(repo, "check", "--no-cache", "--shard", f"{index}/{shard_count}",
                                                    "--output", str(out)))
        documents = json.loads(out.read_text())["summary"]["documents_checked"] if out.is_file() else 0
        print(f"  shard {index}/{shard_count}: {elapsed:7.2f}s  {documents:7d} documents  peak RSS "
              f"{peak / 2**20:.0f} MiB  exit {done.returncode}", flush=True)
        total += elapsed
        outputs.append(str(out))
    merged = repo / "merged.json"
    _, _, done = run_measured(modelops(repo, "report", "merge", *outputs, "--format", "json", "--out", str(merged)))
    same = merged.is_file() and merged.read_bytes() == full.read_bytes()
    print(f"  {shard_count} shards one after another: {total:.2f}s in all; merged (exit {done.returncode}) "
          f"{'IDENTICAL to' if same else 'DIFFERS from'} the unsharded result", flush=True)
    shutil.rmtree(repo, ignore_errors=True)


# ----- the run -----

def cold_and_warm(folder: Path, sections: set[str], size: int) -> tuple[float, int]:
    print(f"{size} models x 3 environments = {3 * size} pairs, {os.cpu_count()} CPUs", flush=True)
    cold, stages, documents, peak = timed_check(folder, "--no-cache")
    report("cold (no cache)", cold, stages, documents, peak)
    print(verdict("cold", cold * 1000 / max(size, 1), TARGETS["cold"], "s per 1000 models"))
    print(verdict("peak RSS", peak / 2**30, 2.0, " GiB"))
    if "warm" not in sections:
        return cold, documents
    report("cold (filling the cache)", *timed_check(folder))
    warm = median_of(REPEATS, lambda _: timed_check(folder))
    report("warm, nothing changed", *warm)
    spec = min((folder / "models").glob("*support-chat.yaml"))
    original = spec.read_text()

    def change_one_spec(run: int) -> tuple[float, dict[str, float], int, int]:
        # training only, so no environment's GPU total changes; a new value every run
        spec.write_text(original.replace("retries: 3", f"retries: {4 + run}"))
        return timed_check(folder)

    changed = median_of(REPEATS, change_one_spec)
    report("warm, one spec changed", *changed)
    spec.write_text(original)
    print(verdict("nothing changed", warm[0], TARGETS["nothing changed"]))
    print(verdict("one spec changed", changed[0], TARGETS["one spec changed"]))
    return cold, documents


def in_process(folder: Path, sections: set[str], cold: float, documents: int, workers: int, pairs: int,
               naive_files: int) -> None:
    work = Workload(folder, pairs)
    print(f"in-process sample: {len(work.files)} rendered files, {len(work.documents)} documents", flush=True)
    ours = documents / cold if cold else 0.0
    if "naive" in sections:
        seconds, naive_docs = naive_pipeline(work, naive_files)
        rate = naive_docs / seconds
        print(f"naive pipeline (per file)      {seconds:7.2f}s  {naive_docs:7d} documents  {rate:8.0f} docs/s",
              flush=True)
        if ours:
            print(verdict("docs/s against the naive pipeline", ours / rate, 10.0, "x", lower_is_better=False))
    if "floor" in sections:
        seconds, stages = engine_floor(work)
        low, high = stages.pop("min"), stages.pop("max")
        per_doc = seconds / len(work.documents)
        floor_total = per_doc * documents / workers
        print(f"engine floor (1 warm process)  {seconds:7.2f}s  {len(work.documents):7d} documents  "
              f"[{', '.join(f'{k} {v:.2f}s' for k, v in stages.items())}; median of {FLOOR_REPEATS}, range "
              f"{low:.2f}-{high:.2f}s]; scaled to {documents} documents over {workers} processes: {floor_total:.2f}s",
              flush=True)
        if cold:
            print(verdict("cold against the engine floor", cold / floor_total, 1.3, "x"))
    if "engines" in sections:
        policy_per_engine(work)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="generate the repository here and keep it")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"sections to run (of {', '.join(SECTIONS)})")
    parser.add_argument("--sample-pairs", type=int, default=150, help="pairs in the in-process sample")
    parser.add_argument("--naive-files", type=int, default=60, help="rendered files the naive pipeline runs on")
    parser.add_argument("--svg", type=Path, default=ROOT / "bench" / "check_growth.svg")
    parser.add_argument("--shards", type=int, default=8)
    args = parser.parse_args()
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    folder = args.keep or Path(tempfile.mkdtemp(prefix="modelops-bench-"))
    workers = min(2, os.cpu_count() or 1)
    try:
        make_repository(folder, args.models)
        cold, documents = cold_and_warm(folder, sections, args.models) if sections & {"cold", "warm"} else (0.0, 0)
        if sections & {"naive", "floor", "engines"}:
            in_process(folder, sections, cold, documents, workers, args.sample_pairs, args.naive_files)
        if "validate" in sections:
            validate_speed(folder, folder)
        if "growth" in sections:
            growth(sorted({max(1, args.models // 10), args.models, 3 * args.models}), folder, args.svg)
        if "shards" in sections:
            shards(10 * args.models, args.shards, folder)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

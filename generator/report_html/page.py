"""Render `ReportData` as one self-contained HTML page.

Everything the page needs is inline: CSS, an SVG chart laid out here in Python, and one
small script whose hash is the only one the page's Content-Security-Policy allows. The
policy also forbids every fetch (`default-src 'none'`), so a browser opening the file
makes no network request even if a spec smuggled a URL into a field; every field is
autoescaped by the sandboxed Jinja environment.
"""
from __future__ import annotations

import base64
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from generator.report_html.builder import LEVELS, GpuEnvironment, GpuUse, ReportData

__all__ = ["render_page", "chart_layout", "Chart", "Bar", "Segment", "PALETTE", "LAYOUT_SCRIPT"]

TEMPLATE = "report.html.j2"
# Okabe-Ito-like, distinguishable with the common colour-vision deficiencies; red is kept
# for "deny" and "over quota" and so is not a model colour.
PALETTE = ("#3b6fb6", "#e69f00", "#009e73", "#8e63b5", "#56b4e9", "#a6761d", "#cc79a7", "#6b7280")

# Records whether the matrix and the chart laid out with a visible size inside the first
# screen; headless checks read it back from the DOM (`chromium --dump-dom`).
LAYOUT_SCRIPT = """
(function () {
  var root = document.documentElement, view = window.innerHeight, seen = [];
  ["matrix", "gpu-chart"].forEach(function (id) {
    var el = document.getElementById(id);
    if (!el) { seen.push(id + ":missing"); return; }
    var box = el.getBoundingClientRect();
    var shown = box.width > 0 && box.height > 0 && box.top < view;
    seen.push(id + ":" + (shown ? "visible" : "hidden") + ":" + Math.round(box.width) + "x"
              + Math.round(box.height) + "@" + Math.round(box.top));
  });
  root.setAttribute("data-layout", seen.join(" "));
  root.setAttribute("data-ok", "1");
})();
"""

PLOT_TOP, PLOT_HEIGHT, AXIS_WIDTH, COLUMN_WIDTH, BAR_WIDTH, BOTTOM = 24, 250, 56, 200, 64, 52


@dataclass(frozen=True)
class Segment:
    model: str
    y: float
    height: float
    color: str
    label: str  # shown inside the segment when it is tall enough, else ""
    tooltip: str


@dataclass(frozen=True)
class Bar:
    environment: str
    x: float  # left edge of the bar
    center: float
    top: float  # y of the bar's top
    quota_y: float
    quota: int
    requested: int
    over_quota: bool
    segments: tuple[Segment, ...]
    width: int = BAR_WIDTH

    @property
    def percent(self) -> int:
        return round(100 * self.requested / self.quota) if self.quota else 0


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_top: int
    plot_bottom: int
    axis_x: int
    ticks: tuple[tuple[float, int], ...]  # (y, value)
    bars: tuple[Bar, ...]
    colors: dict[str, str]


def _step(maximum: int) -> int:
    """A 1/2/5 x 10^k step giving about five gridlines up to `maximum`."""
    raw = max(maximum / 5, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def _tooltip(use: GpuUse) -> str:
    parts = []
    if use.training:
        parts.append(f"training {use.training} x {use.training_type}")
    if use.serving:
        parts.append(f"serving {use.serving} x {use.serving_type} at max replicas")
    return f"{use.model} in {use.environment}: {use.total} GPUs ({', '.join(parts)})"


def _bar(env: GpuEnvironment, index: int, scale: float, colors: dict[str, str]) -> Bar:
    center = AXIS_WIDTH + COLUMN_WIDTH * index + COLUMN_WIDTH / 2
    bottom: float = PLOT_TOP + PLOT_HEIGHT
    segments = []
    for use in env.uses:
        if not use.total:
            continue
        height = use.total * scale
        bottom -= height
        label = str(use.total) if height >= 16 else ""
        segments.append(Segment(use.model, round(bottom, 2), round(height, 2), colors[use.model], label,
                                _tooltip(use)))
    return Bar(env.environment, center - BAR_WIDTH / 2, center, round(bottom, 2),
               round(PLOT_TOP + PLOT_HEIGHT - env.quota * scale, 2), env.quota, env.requested, env.over_quota,
               tuple(segments))


def chart_layout(gpus: tuple[GpuEnvironment, ...], models: tuple[str, ...]) -> Chart:
    colors = {model: PALETTE[i % len(PALETTE)] for i, model in enumerate(models)}
    peak = max([1] + [max(e.quota, e.requested) for e in gpus])
    step = _step(peak)
    top_value = step * math.ceil(peak * 1.08 / step)
    scale = PLOT_HEIGHT / top_value
    ticks = tuple((round(PLOT_TOP + PLOT_HEIGHT - v * scale, 2), v) for v in range(0, top_value + 1, step))
    bars = tuple(_bar(env, i, scale, colors) for i, env in enumerate(gpus))
    width = AXIS_WIDTH + COLUMN_WIDTH * max(len(gpus), 1) + 16
    return Chart(width, PLOT_TOP + PLOT_HEIGHT + BOTTOM, PLOT_TOP, PLOT_TOP + PLOT_HEIGHT, AXIS_WIDTH, ticks, bars,
                 colors)


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(loader=FileSystemLoader(str(Path(__file__).parent)), autoescape=True,
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=True)
    return env


def render_page(data: ReportData) -> str:
    digest = base64.b64encode(hashlib.sha256(LAYOUT_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    template = _environment().get_template(TEMPLATE)
    return template.render(report=data, chart=chart_layout(data.gpus, data.models), levels=LEVELS,
                           script=Markup(LAYOUT_SCRIPT), script_hash=f"sha256-{digest}")

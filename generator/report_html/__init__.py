"""`modelops report`: one self-contained HTML page about a GitOps repository.

`build_report` collects the data (release matrix, policy findings, GPU plan, open
promotions); `render_page` turns it into HTML with no external resources.
"""
from __future__ import annotations

from generator.report_html.builder import ReportData, build_report, open_promotions
from generator.report_html.page import render_page

__all__ = ["ReportData", "build_report", "open_promotions", "render_page"]

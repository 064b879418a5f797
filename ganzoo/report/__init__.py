"""``ganzoo report``: one self-contained HTML page that sets runs side by side.

:func:`make` reads the runs (:mod:`ganzoo.report.collect`) and builds the page
(:mod:`ganzoo.report.page`, plots from :mod:`ganzoo.report.svg`, style and script from
:mod:`ganzoo.report.assets`, ``ganzoo doctor``'s findings through :mod:`ganzoo.report.findings`);
:func:`ganzoo.report.page.write` saves it without overwriting a file ganzoo did not write.
"""

from __future__ import annotations

from pathlib import Path

from ganzoo.report import findings, page
from ganzoo.report.collect import RunView, collect, find_runs, unique_names

FRAMES_PER_RUN = 12  # sample grids embedded per run by default, evenly spaced, the last included ...
FRAMES_PER_PAGE = 96  # ... but fewer when there are many runs (at least 3 each), to keep the page small


def default_frames(runs: int) -> int:
    return max(3, min(FRAMES_PER_RUN, FRAMES_PER_PAGE // max(1, runs)))


def make(paths: list[Path], frames: int | None = None) -> tuple[str, list[RunView], list[str]]:
    """(the page's HTML, the runs it shows, notes on what was left out) for run or sweep folders;
    ``frames`` sample grids per run (0: all; None: :func:`default_frames`)."""
    run_dirs, notes = find_runs(paths)
    frames = default_frames(len(run_dirs)) if frames is None else frames
    runs = [collect(d, frames, notes) for d in run_dirs]
    unique_names(runs)
    for run in runs:
        run.findings = findings.findings(run.path)
    return page.build(runs, notes, findings_available=findings.available()), runs, notes


__all__ = ["FRAMES_PER_PAGE", "FRAMES_PER_RUN", "RunView", "default_frames", "make"]

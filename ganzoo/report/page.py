"""The report page: one self-contained HTML file (inline CSS, SVG plots, PNG grids as data: URIs,
a few lines of script for the sliders), and writing it without overwriting anything ganzoo did not write.

Sections: the runs (steps, steps/s, wall time), the final scores beside their real-vs-real floors
(the rows of :data:`ganzoo.evaluation.metrics.QUALITY`), the configuration with the keys that differ
between runs first and marked (``tr.differs``, from :func:`ganzoo.runs.compare.differing`), the
sample grids over time with a slider per run and one for all, loss and quality curves on shared
axes, and ``ganzoo doctor``'s findings when there are any. Every name and value a user typed is
HTML-escaped, and a Content-Security-Policy forbids the page any network request.
"""

from __future__ import annotations

import json
import time
from html import escape
from pathlib import Path
from typing import Any, Sequence

from ganzoo.errors import ConfigError, StorageError, os_reason
from ganzoo.evaluation.metrics import QUALITY
from ganzoo.registry.names import natural_key
from ganzoo.report import assets, svg
from ganzoo.report.collect import RunView
from ganzoo.runs.compare import differing
from ganzoo.storage.atomic import replacing
from ganzoo.storage.plots import LOSS_KEYS
from ganzoo.version import __version__

MARK = '<meta name="generator" content="ganzoo'  # what proves a file is a ganzoo report


def build(runs: list[RunView], notes: Sequence[str] = (), findings_available: bool = False) -> str:
    names = ", ".join(r.name for r in runs)
    x_max = max([1] + [r.losses[-1]["step"] for r in runs if r.losses] + [s for r in runs for s, _ in r.evals])
    body = [
        f"<header><h1>ganzoo report</h1><p>{len(runs)} run{'s' * (len(runs) != 1)}: {escape(names)}. Written "
        f"{escape(time.strftime('%Y-%m-%d %H:%M'))} by ganzoo {escape(__version__)}.</p></header>",
        "".join(f'<p class="note">{escape(n)}</p>' for n in notes),
        _legend(runs),
        _runs_table(runs),
        _final_table(runs),
        _config_tables(runs),
        _samples(runs),
        _curves("Losses", "losses", runs, _loss_keys(runs), x_max),
        _quality_curves(runs, x_max),
        _findings(runs) if findings_available or any(r.findings for r in runs) else "",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'{MARK} {escape(__version__)}">'
        f'<meta http-equiv="Content-Security-Policy" content="{assets.CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
        f"<title>ganzoo report: {escape(names)}</title><style>{assets.CSS}</style></head>\n<body>"
        + "\n".join(b for b in body if b)
        + f"\n<script>{assets.SCRIPT}</script></body></html>\n"
    )


def written_by_ganzoo(path: Path) -> bool:
    """True for a file whose head carries the report's generator mark."""
    try:
        with open(path, "rb") as f:
            return MARK.encode() in f.read(4096)
    except OSError:
        return False


def write(path: Path, text: str) -> None:
    """Write the page atomically; replace an existing file only when it is an earlier ganzoo report."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ConfigError(
            f"--out {path} is {'a symbolic link' if path.is_symlink() else 'not a regular file'}; ganzoo report writes a new "
            "file or replaces a report it wrote before. Choose another --out."
        )
    if path.exists() and not written_by_ganzoo(path):
        raise ConfigError(
            f'--out {path} already exists and is not a report ganzoo wrote (it has no <meta name="generator" '
            'content="ganzoo ..."> mark), so it is left as it is. Choose another --out, or move the file away.'
        )
    if not path.parent.is_dir():
        raise ConfigError(f"--out {path}: the folder {path.parent} does not exist. Create it or choose another --out.")
    try:
        with replacing(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"Could not write the report {path}: {os_reason(exc)}. Nothing was changed.") from None


# -- sections --------------------------------------------------------------------------------------
def _swatch(i: int) -> str:
    color, dash = svg.style(i)
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<svg class="swatch" width="22" height="10"><line x1="0" y1="5" x2="22" y2="5" stroke="{color}" stroke-width="3"{dashed}/></svg>'
    )


def _legend(runs: list[RunView]) -> str:
    return '<ul class="legend">' + "".join(f"<li>{_swatch(i)} {escape(r.name)}</li>" for i, r in enumerate(runs)) + "</ul>"


def _runs_table(runs: list[RunView]) -> str:
    rows = []
    for i, r in enumerate(runs):
        s = r.summary
        of = f" of {r.total_steps}" if r.total_steps else ""
        state = "training now" if r.training else ("finished" if r.total_steps and s["steps"] >= r.total_steps else "stopped")
        rows.append(
            f'<tr data-run="{i}"><td>{_swatch(i)}</td><th scope="row">{escape(r.name)}</th><td class="path">{escape(str(r.path))}</td>'
            f'<td data-key="steps">{s["steps"]}{of}</td><td data-key="steps_per_s">{s["steps_per_s"]:.2f}</td>'
            f'<td data-key="wall_s">{_duration(s["wall_s"])}</td><td>{state}</td></tr>'
        )
    return (
        '<section id="runs"><h2>Runs</h2><table id="run-table"><thead><tr><th></th><th>run</th><th>folder</th><th>generator steps</th>'
        "<th>steps/s</th><th>wall time</th><th>state</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        '<p class="hint">Wall time is the training time across resumes (metrics.jsonl); steps/s is steps over that time.</p></section>'
    )


def _final_table(runs: list[RunView]) -> str:
    head = "".join(f"<th>{escape(r.name)}</th>" for r in runs)
    rows = []
    for q in QUALITY:
        values = [r.final.get(q.key) if r.final else None for r in runs]
        numbers = [v for v in values if isinstance(v, (int, float))]
        best = (
            (max(numbers) if q.higher_is_better else min(numbers)) if numbers and len(runs) > 1 and q.higher_is_better is not None else None
        )
        cells = []
        for i, (r, v) in enumerate(zip(runs, values)):
            ref = _reference(q, r) if r.final else ""
            cls = ' class="best"' if best is not None and q.format({q.key: v}) == q.format({q.key: best}) else ""
            cells.append(
                f'<td data-run="{i}" data-key="{q.key}"{cls}><span class="v">{escape(q.format(r.final or {}))}</span>'
                f'<span class="ref">{escape(ref)}</span></td>'
            )
        arrow = {True: " ↑", False: " ↓", None: ""}[q.higher_is_better]
        rows.append(f'<tr><th scope="row">{escape(q.label)}{arrow}</th>{"".join(cells)}</tr>')
    source = "".join(f'<td class="source">{escape(r.final_source)}</td>' for r in runs)
    return (
        f'<section id="scores"><h2>Final evaluation</h2><table id="final"><thead><tr><th>metric</th>{head}</tr></thead>'
        f'<tbody>{"".join(rows)}<tr><th scope="row">from</th>{source}</tr></tbody></table>'
        '<p class="hint">Each value is shown beside what to read it against: its real-vs-real floor (the same distance between two '
        "halves of the real data), chance, or the real data. ↑ higher is better, ↓ lower is better; the best run is in bold.</p></section>"
    )


def _reference(q: Any, run: RunView) -> str:
    try:
        return q.reference_text(run.final, run.num_classes)
    except (KeyError, IndexError, TypeError, ValueError):  # a score without the fields the reference names
        return ""


def _config_tables(runs: list[RunView]) -> str:
    configs = [r.summary["config"] for r in runs]
    differ = differing(configs) if len(runs) > 1 else []
    keys = sorted({k for c in configs for k in c} - {"out"}, key=natural_key)
    same = [k for k in keys if k not in differ]
    head = "<thead><tr><th>key</th>" + "".join(f"<th>{escape(r.name)}</th>" for r in runs) + "</tr></thead>"

    def rows(ks: list[str], cls: str) -> str:
        return "".join(
            f'<tr class="{cls}" data-key="{escape(k)}"><th scope="row">{escape(k)}</th>'
            + "".join(f"<td>{escape(_value(c.get(k)))}</td>" for c in configs)
            + "</tr>"
            for k in ks
        )

    out = ['<section id="config"><h2>Configuration</h2>']
    if len(runs) > 1:
        out.append(
            f"<p>{len(differ)} {'key differs' if len(differ) == 1 else 'keys differ'} between the runs (marked); {len(same)} are "
            "the same in all.</p>"
        )
        if differ:
            out.append(f'<table id="config-differs">{head}<tbody>{rows(differ, "differs")}</tbody></table>')
        out.append(
            f"<details><summary>the {len(same)} keys shared by all runs</summary><table "
            f'id="config-same">{head}<tbody>{rows(same, "same")}</tbody></table></details>'
        )
    else:
        out.append(f'<table id="config-same">{head}<tbody>{rows(same, "same")}</tbody></table>')
    return "".join(out) + "</section>"


def _samples(runs: list[RunView]) -> str:
    shown = [(i, r) for i, r in enumerate(runs) if r.frames]
    if not shown:
        return '<section id="samples"><h2>Samples</h2><p>No sample grids (samples/step-N.png) in these runs.</p></section>'
    steps = sorted({s for _, r in shown for s, _ in r.frames})
    out = [
        '<section id="samples"><h2>Samples</h2><p class="hint">One row per class, one fixed noise vector per column. Drag a slider '
        "to move through training. Shown with 16 grey levels (colour grids: 64 colours) to keep the page small; "
        "each run's samples/step-N.png hold the originals.</p>"
    ]
    if len(shown) > 1 and len(steps) > 1:
        out.append(
            f'<p class="all"><label>all runs, step <output id="all-step">{steps[-1]}</output> <input type="range" id="all-steps" '
            f'min="0" max="{len(steps) - 1}" value="{len(steps) - 1}" data-steps="{",".join(map(str, steps))}"></label></p>'
        )
    out.append('<div class="grids">')
    for i, r in shown:
        last = len(r.frames) - 1
        imgs = "".join(
            f'<img src="{uri}" data-step="{s}" alt="samples of {escape(r.name)} at step {s}"{"" if k == last else " hidden"}>'
            for k, (s, uri) in enumerate(r.frames)
        )
        out.append(
            f'<figure class="frames" data-run="{i}"><figcaption>{_swatch(i)} {escape(r.name)}</figcaption><div class="imgs">{imgs}</div>'
            f'<label>step <output class="step">{r.frames[-1][0]}</output> <input type="range" class="frame" min="0" max="{last}" '
            f'value="{last}" aria-label="sample grid of {escape(r.name)}"></label></figure>'
        )
    return "".join(out) + "</div></section>"


def _loss_keys(runs: list[RunView]) -> list[tuple[str, str, bool]]:
    """The curves of loss.png (the doctor's evidence in the same lines is read by the doctor, not drawn)."""
    return [(k, k, False) for k in LOSS_KEYS if any(isinstance(line.get(k), (int, float)) for r in runs for line in r.losses)]


def _curves(
    title: str, anchor: str, runs: list[RunView], keys: list[tuple[str, str, bool]], x_max: int, lines: str = "losses", hint: str = ""
) -> str:
    if not keys:
        return ""
    plots = []
    for key, label, log in keys:
        series = []
        for i, r in enumerate(runs):
            pts = (
                [(line["step"], line[key]) for line in r.losses if isinstance(line.get(key), (int, float))]
                if lines == "losses"
                else [(s, e[key]) for s, e in r.evals if isinstance(e.get(key), (int, float))]
            )
            color, dash = svg.style(i)
            series.append(svg.Series(r.name, pts, color, dash))
        plots.append(svg.line_plot(series, title=label, log_y=log, x_range=(0, x_max)))
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{hint}<div class="plots">{"".join(plots)}</div></section>'


def _quality_curves(runs: list[RunView], x_max: int) -> str:
    keys = [
        (q.key, q.label + (" ↑" if q.higher_is_better else " ↓"), q.higher_is_better is False)
        for q in QUALITY
        if q.higher_is_better is not None and any(q.key in e for r in runs for _, e in r.evals)
    ]
    hint = '<p class="hint">Scored during training (train.eval_every); distances on a log scale.</p>'
    return _curves("Quality during training", "quality", runs, keys, x_max, lines="evals", hint=hint)


def _findings(runs: list[RunView]) -> str:
    out = ['<section id="findings"><h2>Findings (ganzoo doctor)</h2>']
    for r in runs:
        items = "".join(f"<li><b>{escape(t)}</b> {escape(x)}</li>" for t, x in r.findings) or "<li>nothing found</li>"
        out.append(f"<h3>{escape(r.name)}</h3><ul>{items}</ul>")
    return "".join(out) + "</section>"


def _value(v: Any) -> str:
    return "" if v is None else (v if isinstance(v, str) else json.dumps(v))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, s = divmod(round(seconds), 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min {s} s"

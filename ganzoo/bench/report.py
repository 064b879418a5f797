"""The bench's output: a rich table, the JSON file, and the comparison with a saved JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from ganzoo.errors import GanzooError

# Throughputs that ``--compare`` checks (higher is better); the first one present is the table's headline.
COMPARED = ("train_images_per_s", "engine_images_per_s", "critic_step", "critic_step_unconstrained", "generator_forward_images_per_s")


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise GanzooError(f"Cannot read the saved bench results {path}: {exc}. --compare needs a file written by `ganzoo bench --json FILE`.") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise GanzooError(f"{path} is not a `ganzoo bench --json` file (it has no 'results' list).")
    return data


def write(path: Path, data: dict[str, Any]) -> None:
    """Write the JSON through a temporary file and a rename, so an old file is never half-overwritten."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


def compare(results: list[dict[str, Any]], saved: dict[str, Any], fail_slower: float | None) -> dict[str, Any]:
    """Ratios new/saved of each compared throughput, per configuration label; regressions beyond ``fail_slower`` %."""
    old = {r["label"]: r for r in saved["results"] if r.get("status") == "ok"}
    ratios: dict[str, dict[str, float]] = {}
    regressions: list[str] = []
    for r in results:
        before = old.get(r["label"])
        if r.get("status") != "ok" or before is None:
            continue
        row = {}
        for key in COMPARED:
            a, b = r["metrics"].get(key), before.get("metrics", {}).get(key)
            if a and b and b.get("per_s"):
                row[key] = a["per_s"] / b["per_s"]
                if fail_slower is not None and row[key] < 1.0 - fail_slower / 100.0:
                    regressions.append(f"{r['label']}: {key} {row[key]:.2f}x of the saved value (more than {fail_slower:g}% slower)")
        ratios[r["label"]] = row
    return {"file_labels": sorted(old), "ratios": ratios, "regressions": regressions, "fail_slower_pct": fail_slower}


def _t(stats: dict[str, Any], scale: float = 1.0, fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(stats['per_s'] * scale)} ±{100 * stats['spread']:.0f}%"


def _ms(stats: dict[str, Any]) -> str:
    return f"{1e3 * stats['median_s']:.0f}"


def _vs(label: str, comparison: dict[str, Any] | None) -> str:
    if comparison is None:
        return ""
    row = comparison["ratios"].get(label)
    if not row:
        return "not in file"
    head = next((k for k in COMPARED if k in row), None)
    worst = min(row.values())
    return f"{row[head]:.2f}x" + (f" (worst {worst:.2f}x)" if worst < row[head] else "")


def table(data: dict[str, Any], comparison: dict[str, Any] | None = None) -> Table:
    if data["mode"] == "vs_reference":
        return _versus_table(data, comparison)
    peak = data["matmul_peak"]["gflops"]
    tab = Table(title=f"ganzoo bench ({data['machine']['device']}, matmul peak {peak:.1f} GFLOP/s; median ±IQR of {data['settings']['rounds']} rounds)")
    for col in ("configuration", "train img/s", "G steps/s", "critic step ms\nwith / without", "G fwd img/s", "peak MB", "params\ncritic / G", "GFLOP/img\nG fwd / C fwd", "GFLOP/s\n(% of peak)"):
        tab.add_column(col, overflow="fold")
    if comparison is not None:
        tab.add_column("vs saved")
    for r in data["results"]:
        if r["status"] != "ok":
            tab.add_row(r["label"], f"[yellow]refused:[/] {r['error']}", *[""] * (7 + (comparison is not None)))
            continue
        m, f = r["metrics"], r["flops"]
        cells = [
            r["label"], _t(m["train_images_per_s"]), f"{m['generator_steps_per_s']['per_s']:.3g}",
            f"{_ms(m['critic_step'])} / {_ms(m['critic_step_unconstrained'])} ({r['constraint_cost']:.2f}x)",
            _t(m["generator_forward_images_per_s"]), f"{r['peak_memory_mb']:.0f}",
            f"{r['params']['critic']:,} / {r['params']['generator']:,}",
            f"{f['generator_forward_per_image'] / 1e9:.3g} / {f['critic_forward_per_image'] / 1e9:.3g}",
            f"{r['achieved_gflops']:.1f} ({100 * (r['peak_fraction'] or 0):.0f}%)",
        ]
        if comparison is not None:
            cells.append(_vs(r["label"], comparison))
        tab.add_row(*cells)
    return tab


def _versus_table(data: dict[str, Any], comparison: dict[str, Any] | None) -> Table:
    tab = Table(title=f"engine vs the seed notes' loop ({data['machine']['device']}; median ±IQR of {data['settings']['rounds']} alternating rounds)")
    for col in ("configuration", "engine img/s", "reference img/s", "speedup\nmedian (rounds)"):
        tab.add_column(col, overflow="fold")
    if comparison is not None:
        tab.add_column("vs saved")
    for r in data["results"]:
        if r["status"] != "ok":
            tab.add_row(r["label"], f"[yellow]refused:[/] {r['error']}", "", "", *([""] if comparison is not None else []))
            continue
        m, per_round = r["metrics"], r["speedup_per_round"]
        cells = [r["label"], _t(m["engine_images_per_s"], fmt="{:.2f}"), _t(m["reference_images_per_s"], fmt="{:.2f}"),
                 f"{r['speedup']:.2f}x ({min(per_round):.2f}-{max(per_round):.2f})"]
        if comparison is not None:
            cells.append(_vs(r["label"], comparison))
        tab.add_row(*cells)
    return tab

"""The bench's output: a table (drawn by the CLI), the JSON file, and the comparison with a saved JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dataclasses import dataclass, field

from ganzoo.errors import GanzooError, StorageError, os_reason
from ganzoo.storage.atomic import temporary, write_json


@dataclass
class Grid:
    """A table to draw: ``columns`` titles, then ``rows`` of cells (the CLI draws it with rich)."""

    title: str
    caption: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


# Throughputs that ``--compare`` checks (higher is better); the first one present is the table's headline.
COMPARED = ("train_images_per_s", "engine_images_per_s", "critic_step", "critic_step_unconstrained", "generator_forward_images_per_s")


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise GanzooError(
            f"Cannot read the saved bench results {path}: {exc}. --compare needs a file written by `ganzoo bench --json FILE`."
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise GanzooError(f"{path} is not a `ganzoo bench --json` file (it has no 'results' list).")
    return data


def check_output(path: Path) -> None:
    """Before anything is measured: ``--json FILE`` must be writable, and an existing file there must be
    an earlier ``ganzoo bench --json`` result (ganzoo overwrites only what it wrote)."""
    path = Path(path)
    if path.is_dir():
        raise GanzooError(f"--json {path} is a folder. Name a file, e.g. {path / 'bench.json'}.")
    if path.exists() or path.is_symlink():
        try:
            load(path)
        except GanzooError:
            raise GanzooError(
                f"--json {path} already exists and is not a ganzoo bench result, so ganzoo will not overwrite it. Choose another file."
            ) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = temporary(path)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StorageError(f"Cannot write --json {path}: {os_reason(exc)}. Nothing was measured; choose a writable file.") from None


def write(path: Path, data: dict[str, Any]) -> None:
    """Write the JSON atomically, so an old file is never half-overwritten."""
    write_json(Path(path), data)


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


def _rate(stats: dict[str, Any], fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(stats['per_s'])} ±{100 * stats['spread']:.0f}%"


def _ms(stats: dict[str, Any]) -> str:
    return f"{1e3 * stats['median_s']:.1f} ±{100 * stats['spread']:.0f}%"


def _vs(label: str, comparison: dict[str, Any]) -> str:
    row = comparison["ratios"].get(label)
    if not row:
        return "not in file"
    head = next(k for k in COMPARED if k in row)
    worst = min(row.values())
    return f"{row[head]:.2f}x" + (f" (worst {worst:.2f}x)" if worst < row[head] else "")


def _bench_rows(r: dict[str, Any]) -> dict[str, str]:
    m, f = r["metrics"], r["flops"]
    return {
        "train images/s": _rate(m["train_images_per_s"]),
        "generator steps/s": f"{m['generator_steps_per_s']['per_s']:.3g}",
        "critic step ms, constrained": _ms(m["critic_step"]),
        "critic step ms, unconstrained": _ms(m["critic_step_unconstrained"]),
        "constraint cost": f"{r['constraint_cost']:.2f}x",
        "fused critic pass": "yes" if r["fused_critic_pass"] else "no",
        "generator forward images/s": _rate(m["generator_forward_images_per_s"]),
        "batches/s: device tensor | DataLoader": f"{m['data_tensor_batches_per_s']['per_s']:,.0f} | "
        f"{m['data_dataloader_batches_per_s']['per_s']:,.0f}",
        "peak memory MB": f"{r['peak_memory_mb']:,.0f}",
        "parameters: critic | generator": f"{r['params']['critic']:,} | {r['params']['generator']:,}",
        "GFLOP/image: G fwd | critic fwd": f"{f['generator_forward_per_image'] / 1e9:.3g} | {f['critic_forward_per_image'] / 1e9:.3g}",
        "GFLOP per training step": f"{f['train_step'] / 1e9:.3g}",
        "achieved GFLOP/s (of peak)": f"{r['achieved_gflops']:.1f} ({100 * (r['peak_fraction'] or 0):.0f}%)",
    }


def _versus_rows(r: dict[str, Any]) -> dict[str, str]:
    m, per_round = r["metrics"], r["speedup_per_round"]
    return {
        "engine images/s": _rate(m["engine_images_per_s"], "{:.2f}"),
        "reference images/s": _rate(m["reference_images_per_s"], "{:.2f}"),
        "speedup (reference s / engine s)": f"{r['speedup']:.2f}x",
        "speedup per round, min-max": f"{min(per_round):.2f}-{max(per_round):.2f}",
        "speedup in process CPU time": f"{r['speedup_cpu_time']:.2f}x",
    }


def _caption(data: dict[str, Any]) -> str:
    base = " ".join(data["settings"].get("overrides", [])) or "(none)"
    mach = data["machine"]
    gpu = f", {mach['gpu']}" if mach.get("gpu") else ""
    memory = (
        "" if data["mode"] == "vs_reference" else ("; memory: max allocated on the GPU" if gpu else "; memory: peak RSS of the process")
    )
    return f"overrides: {base}; {mach['cpu']}, {mach['torch_threads']} threads{gpu}; torch {mach['torch']}{memory}"


def _quality_rows(r: dict[str, Any]) -> dict[str, str]:
    reached = f"yes, at step {r['step']:,}" if r["reached"] else "no"
    return {
        f"reached {r['metric']} {r['target']:g}": reached,
        "training time to it (s)": f"{r['seconds']:.1f}" if r["reached"] else f"> {r['seconds_trained']:.1f}",
        "value then" if r["reached"] else "last value": "-" if r["value"] is None else f"{r['value']:.3f}",
        "steps trained": f"{r['steps_trained']:,}",
    }


def table(data: dict[str, Any], comparison: dict[str, Any] | None = None) -> Grid:
    """One column per configuration, one row per measurement; medians ± interquartile range."""
    if data["mode"] == "to_quality":
        s = data["settings"]
        title = (
            f"time to {s['to_quality']} (scored every {s['eval_every']} steps, budget {s['budget_minutes']:g} min) "
            f"on {data['machine']['device']}"
        )
        cells = [{"status": "refused (below)"} if r["status"] != "ok" else {"status": "ok", **_quality_rows(r)} for r in data["results"]]
        names = list(dict.fromkeys(k for row in cells for k in row))
        return Grid(
            title, _caption(data), ["", *(r["label"] for r in data["results"])], [[n, *(row.get(n, "") for row in cells)] for n in names]
        )
    versus = data["mode"] == "vs_reference"
    rounds, device = data["settings"]["rounds"], data["machine"]["device"]
    if versus:
        title = f"engine vs the seed notes' loop on {device}, {rounds} alternating rounds"
    else:
        title = f"ganzoo bench on {device}, {rounds} rounds, matmul peak {data['matmul_peak']['gflops']:.1f} GFLOP/s"
    cells: list[dict[str, str]] = []
    for r in data["results"]:
        row = {"status": "refused (below)"} if r["status"] != "ok" else {"status": "ok", **(_versus_rows(r) if versus else _bench_rows(r))}
        if comparison is not None and r["status"] == "ok":
            row["vs saved (headline, worst)"] = _vs(r["label"], comparison)
        cells.append(row)
    names = list(dict.fromkeys(k for row in cells for k in row))
    return Grid(
        title,
        _caption(data),
        ["", *(r["label"] for r in data["results"])],
        [[name, *(row.get(name, "") for row in cells)] for name in names],
    )

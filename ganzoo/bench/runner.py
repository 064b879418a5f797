"""``ganzoo bench``: expand the matrix, measure every combination, print, save and compare."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any, Callable

from ganzoo.bench import report
from ganzoo.bench.flops import matmul_peak
from ganzoo.bench.measure import Settings, measure
from ganzoo.bench.quality import parse_target, time_to_quality
from ganzoo.bench.timing import machine
from ganzoo.bench.versus import versus
from ganzoo.errors import ConfigError
from ganzoo.registry.config import check_combination, resolve
from ganzoo.registry.overrides import axes, parse_overrides
from ganzoo.registry.host import PluginHost
from ganzoo.training.batches import pick_device
from ganzoo.version import __version__

REFERENCE_PRESET = "seed"


def expand(overrides: list[str], matrix: list[str]) -> list[tuple[str, list[str]]]:
    """``(label, overrides)`` for every combination of the matrix axes (``key=a,b`` each), base overrides first.

    The label names the matrix values (``base`` without a matrix); ``--compare`` matches results by it.
    """
    found = axes(matrix)
    for item, (key, choices) in zip(matrix, found):
        if not choices:
            raise ConfigError(f"The matrix axis '{item}' names no value: an axis is key=a,b,c (alternatives), for example "
                              "critic=layernorm_cond,dcgan or train.precision=fp32,bf16.")
    if not found:
        return [("base", list(overrides))]
    combos = []
    for values in itertools.product(*(choices for _, choices in found)):
        picked = [f"{key}={value}" for (key, _), value in zip(found, values)]
        combos.append((" ".join(picked), [*overrides, *picked]))
    return combos


def bench(
    overrides: list[str], host: PluginHost, *, matrix: list[str] = (), settings: Settings = Settings(),
    vs_reference: bool = False, json_out: Path | None = None, compare_with: Path | None = None,
    fail_slower: float | None = None, log: Callable[[str], None] = lambda line: None, peak_size: int = 1024,
    to_quality: str | None = None, eval_every: int = 100, budget_minutes: float = 10.0,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Measure every combination; ``log`` gets a line as each starts. Returns the results (also
    written to ``json_out``) and the comparison with ``compare_with`` (None without one)."""
    if settings.rounds < 1 or settings.warmup < 0:
        raise ConfigError(f"--rounds must be at least 1 and --warmup at least 0 (got {settings.rounds} and {settings.warmup}).")
    if fail_slower is not None and (compare_with is None or fail_slower < 0):
        raise ConfigError("--fail-slower PCT needs --compare FILE and a percentage of at least 0, e.g. --compare base.json --fail-slower 10.")
    target = parse_target(to_quality) if to_quality else None
    if target is not None and (vs_reference or eval_every < 1 or budget_minutes <= 0):
        raise ConfigError("--to-quality trains each configuration: it cannot be combined with --vs-reference, and needs --eval-every >= 1 and --budget-minutes > 0.")
    saved = report.load(compare_with) if compare_with is not None else None
    if json_out is not None:
        report.check_output(json_out)
    prefix = [f"preset={REFERENCE_PRESET}"] if vs_reference and "preset" not in parse_overrides(list(overrides)) else []
    combos = []
    for label, items in expand(list(overrides), list(matrix)):  # every combination is validated before anything is timed
        items = [*prefix, *items]
        try:
            # Unknown names and keys stop the bench; combinations that cannot work are measured as refused.
            combos.append((label, items, resolve([*items, "train.progress=false"], host, check_compat=False)))
        except ConfigError as exc:
            raise ConfigError(f"In the bench combination '{label}': {exc}") from None
    device = pick_device(combos[0][2].train.device)
    data: dict[str, Any] = {
        "ganzoo": __version__, "mode": "vs_reference" if vs_reference else "to_quality" if target else "bench", "machine": machine(device),
        "settings": {"warmup": settings.warmup, "rounds": settings.rounds, "overrides": list(overrides), "matrix": list(matrix)}, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if target is not None:
        data["settings"].update(to_quality=f"{target[0]}={target[1]:g}", eval_every=eval_every, budget_minutes=budget_minutes)
    elif not vs_reference:
        data["matmul_peak"] = matmul_peak(device, size=peak_size)
    results = []
    for i, (label, items, cfg) in enumerate(combos, 1):
        log(f"bench {i}/{len(combos)}: {label}")
        row: dict[str, Any] = {"label": label, "overrides": items, "config": cfg.to_dict()}
        try:
            check_combination(cfg, host)
            if target is not None:
                row.update(time_to_quality(items, host, *target, eval_every=eval_every, budget_minutes=budget_minutes))
            else:
                row.update(versus(cfg, host, settings) if vs_reference else measure(cfg, host, settings, data["matmul_peak"]["gflops"]))
            row["status"] = "ok"
        except ConfigError as exc:
            if len(combos) == 1:
                raise
            row.update(status="refused", error=str(exc))
        results.append(row)
    data["results"] = results
    comparison = None
    if saved is not None:
        comparison = report.compare(results, saved, fail_slower)
        data["comparison"] = {**comparison, "file": str(compare_with)}
    if json_out is not None:
        report.write(json_out, data)
    return data, comparison

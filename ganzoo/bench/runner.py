"""``ganzoo bench``: one function per mode, each expanding the matrix, measuring every combination and
writing the JSON the same way.

- :func:`throughput`: images/s, memory and FLOPs of each combination (the default);
- :func:`vs_reference`: the engine against the seed notes' loop (``--vs-reference``);
- :func:`to_quality`: the training time to first reach a quality figure (``--to-quality``).

They share :func:`expand` and :func:`combinations` (every combination validated before anything is
timed), :func:`header`, :func:`measure_all` and :class:`Output` (``--json``, ``--compare`` and
``--fail-slower``). ``ganzoo bench --procs`` (:mod:`ganzoo.bench.procs`) measures processes instead.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from ganzoo.bench import report
from ganzoo.bench.flops import matmul_peak
from ganzoo.bench.measure import Settings, measure
from ganzoo.bench.quality import parse_target, time_to_quality
from ganzoo.bench.timing import machine
from ganzoo.bench.versus import versus
from ganzoo.errors import ConfigError
from ganzoo.registry.config import RunConfig, check_combination, resolve
from ganzoo.registry.host import PluginHost
from ganzoo.registry.overrides import axes, parse_overrides
from ganzoo.training.batches import pick_device
from ganzoo.version import __version__

REFERENCE_PRESET = "seed"
Log = Callable[[str], None]


def _quiet(line: str) -> None:
    """The default log: nothing."""


@dataclass(frozen=True)
class Output:
    """Where the results go: ``--json FILE``, and ``--compare FILE`` (with ``--fail-slower PCT``)."""

    json_out: Path | None = None
    compare_with: Path | None = None
    fail_slower: float | None = None

    def open(self) -> dict[str, Any] | None:
        """Check the options and the files before anything is measured; the saved results to compare with."""
        if self.fail_slower is not None and (self.compare_with is None or self.fail_slower < 0):
            raise ConfigError(
                "--fail-slower PCT needs --compare FILE and a percentage of at least 0, e.g. --compare base.json --fail-slower 10."
            )
        saved = report.load(self.compare_with) if self.compare_with is not None else None
        if self.json_out is not None:
            report.check_output(self.json_out)
        return saved

    def finish(
        self, data: dict[str, Any], results: list[dict[str, Any]], saved: dict[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The results into ``data``, compared with ``saved`` when there is one, written to ``--json``."""
        data["results"] = results
        comparison = None
        if saved is not None:
            comparison = report.compare(results, saved, self.fail_slower)
            data["comparison"] = {**comparison, "file": str(self.compare_with)}
        if self.json_out is not None:
            report.write(self.json_out, data)
        return data, comparison


def expand(overrides: list[str], matrix: list[str]) -> list[tuple[str, list[str]]]:
    """``(label, overrides)`` for every combination of the matrix axes (``key=a,b`` each), base overrides first.

    The label names the matrix values (``base`` without a matrix); ``--compare`` matches results by it.
    """
    found = axes(matrix)
    for item, (key, choices) in zip(matrix, found):
        if not choices:
            raise ConfigError(
                f"The matrix axis '{item}' names no value: an axis is key=a,b,c (alternatives), for example "
                "critic=layernorm_cond,dcgan or train.precision=fp32,bf16."
            )
    if not found:
        return [("base", list(overrides))]
    combos = []
    for values in itertools.product(*(choices for _, choices in found)):
        picked = [f"{key}={value}" for (key, _), value in zip(found, values)]
        combos.append((" ".join(picked), [*overrides, *picked]))
    return combos


def combinations(
    overrides: list[str], matrix: list[str], host: PluginHost, prefix: list[str] = ()
) -> list[tuple[str, list[str], RunConfig]]:
    """``(label, overrides, config)`` of every combination, each validated before anything is timed:
    unknown names and keys stop the bench; combinations that cannot work are measured as refused."""
    combos = []
    for label, items in expand(list(overrides), list(matrix)):
        items = [*prefix, *items]
        try:
            combos.append((label, items, resolve([*items, "train.progress=false"], host, check_compat=False)))
        except ConfigError as exc:
            raise ConfigError(f"In the bench combination '{label}': {exc}") from None
    return combos


def header(mode: str, device: torch.device, settings: Settings, overrides: list[str], matrix: list[str]) -> dict[str, Any]:
    """The part of the results every mode writes first: version, mode, machine and settings."""
    return {
        "ganzoo": __version__,
        "mode": mode,
        "machine": machine(device),
        "settings": {"warmup": settings.warmup, "rounds": settings.rounds, "overrides": list(overrides), "matrix": list(matrix)},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def measure_all(
    combos: list[tuple[str, list[str], RunConfig]], host: PluginHost, one: Callable[[list[str], RunConfig], dict[str, Any]], log: Log
) -> list[dict[str, Any]]:
    """One row per combination: ``one(overrides, config)``'s figures, or the reason it was refused
    (a single combination that is refused stops the bench instead)."""
    results = []
    for i, (label, items, cfg) in enumerate(combos, 1):
        log(f"bench {i}/{len(combos)}: {label}")
        row: dict[str, Any] = {"label": label, "overrides": items, "config": cfg.to_dict()}
        try:
            check_combination(cfg, host)
            row.update(one(items, cfg))
            row["status"] = "ok"
        except ConfigError as exc:
            if len(combos) == 1:
                raise
            row.update(status="refused", error=str(exc))
        results.append(row)
    return results


def _check(settings: Settings) -> None:
    if settings.rounds < 1 or settings.warmup < 0:
        raise ConfigError(f"--rounds must be at least 1 and --warmup at least 0 (got {settings.rounds} and {settings.warmup}).")


def throughput(
    overrides: list[str],
    host: PluginHost,
    *,
    matrix: list[str] = (),
    settings: Settings = Settings(),
    peak_size: int = 1024,
    output: Output = Output(),
    log: Log = _quiet,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Throughput, memory and FLOPs of every combination. Returns the results (also written to
    ``--json``) and the comparison with ``--compare`` (None without one)."""
    _check(settings)
    saved = output.open()
    combos = combinations(overrides, matrix, host)
    device = pick_device(combos[0][2].train.device)
    data = header("bench", device, settings, overrides, matrix)
    data["matmul_peak"] = matmul_peak(device, size=peak_size)
    results = measure_all(combos, host, lambda items, cfg: measure(cfg, host, settings, data["matmul_peak"]["gflops"]), log)
    return output.finish(data, results, saved)


def vs_reference(
    overrides: list[str],
    host: PluginHost,
    *,
    matrix: list[str] = (),
    settings: Settings = Settings(),
    output: Output = Output(),
    log: Log = _quiet,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The engine against the seed notes' loop, alternating, for every combination (the ``seed``
    preset unless the overrides name another)."""
    _check(settings)
    saved = output.open()
    prefix = [f"preset={REFERENCE_PRESET}"] if "preset" not in parse_overrides(list(overrides)) else []
    combos = combinations(overrides, matrix, host, prefix)
    data = header("vs_reference", pick_device(combos[0][2].train.device), settings, overrides, matrix)
    results = measure_all(combos, host, lambda items, cfg: versus(cfg, host, settings), log)
    return output.finish(data, results, saved)


def to_quality(
    overrides: list[str],
    host: PluginHost,
    target: str,
    *,
    matrix: list[str] = (),
    eval_every: int = 100,
    budget_minutes: float = 10.0,
    settings: Settings = Settings(),
    output: Output = Output(),
    log: Log = _quiet,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The training time each combination needs to first reach ``target`` (``METRIC=VALUE``)."""
    _check(settings)
    key, value = parse_target(target)
    if eval_every < 1 or budget_minutes <= 0:
        raise ConfigError(
            f"--to-quality trains each configuration: it needs --eval-every >= 1 and --budget-minutes > 0 (got {eval_every} and "
            f"{budget_minutes:g})."
        )
    saved = output.open()
    combos = combinations(overrides, matrix, host)
    data = header("to_quality", pick_device(combos[0][2].train.device), settings, overrides, matrix)
    data["settings"].update(to_quality=f"{key}={value:g}", eval_every=eval_every, budget_minutes=budget_minutes)
    results = measure_all(
        combos, host, lambda items, cfg: time_to_quality(items, host, key, value, eval_every=eval_every, budget_minutes=budget_minutes), log
    )
    return output.finish(data, results, saved)

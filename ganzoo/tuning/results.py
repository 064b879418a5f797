"""What a study found: the trials as a table, the best ones (the Pareto front for two objectives),
the budget pruning saved, and the best trial's overrides (``ganzoo run preset-from=DIR``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganzoo.errors import ConfigError
from ganzoo.registry.catalogue import base_preset, preset_values
from ganzoo.registry.overrides import parse_overrides
from ganzoo.runs.compare import summarise
from ganzoo.tuning.space import parse_objectives
from ganzoo.tuning.storage import storage_errors
from ganzoo.tuning.study import close, open_study, optuna_module, plan_of, where


def trials(study_dir: Path) -> tuple[Any, list[dict[str, Any]]]:
    """(plan, one row per trial: number, state, values, sampled overrides, run folder, error). Reads
    only: the storage is opened read-only, so a study folder mounted read-only can be shown."""
    plan = plan_of(study_dir, None)
    study = open_study(study_dir, plan, read_only=True)
    try:
        with storage_errors(where(plan, study_dir)):
            found = study.get_trials(deepcopy=False)
    finally:
        close(study)
    rows = []
    for t in found:
        sampled = [o for o in t.user_attrs.get("overrides", []) if o not in plan.fixed]
        rows.append(
            {
                "number": t.number,
                "state": t.state.name,
                "values": list(t.values) if t.values else None,
                "params": t.params,
                "overrides": sampled,
                "run_dir": t.user_attrs.get("run_dir", ""),
                "error": t.user_attrs.get("error", ""),
                "retry_of": t.user_attrs.get("retry_of"),
            }
        )
    return plan, rows


def best(study_dir: Path) -> tuple[Any, list[dict[str, Any]]]:
    """The best trial (one objective) or the Pareto front (two), best first by the first objective."""
    plan, rows = trials(study_dir)
    directions = [d for _, d in parse_objectives(plan.objectives)]
    done = [r for r in rows if r["state"] == "COMPLETE"]
    sign = [1 if d == "maximize" else -1 for d in directions]
    front = [
        r
        for r in done
        if not any(
            all(s * o >= s * v for s, o, v in zip(sign, other["values"], r["values"])) and other["values"] != r["values"] for other in done
        )
    ]
    return plan, sorted(front, key=lambda r: -sign[0] * r["values"][0])


def pruning_saving(study_dir: Path) -> dict[str, float]:
    """Training time the study spent, and what the pruned trials would have spent at full budget."""
    plan, rows = trials(study_dir)
    spent = saved = 0.0
    for r in rows:
        run = study_dir / r["run_dir"] if r["run_dir"] else None
        if run is None or not (run / "config.json").is_file():
            continue
        wall = summarise(run)["wall_s"]
        spent += wall
        if r["state"] == "PRUNED":
            saved += max(0.0, 60.0 * plan.trial_minutes - wall)
    return {"spent_s": spent, "saved_s": saved}


def best_overrides(study_dir: Path) -> list[str]:
    """The overrides of the best trial (the fixed ones and the sampled ones, without the trial budget)."""
    optuna_module()
    plan, front = best(study_dir)
    if not front:
        raise ConfigError(f"The study in {study_dir} has no finished trial yet, so it has no best configuration.")
    return [*plan.fixed, *front[0]["overrides"]]


def preset_lines(overrides: list[str], name: str = "tuned") -> str:
    """A preset for registry.toml that sets these overrides on top of the preset they started from
    (a preset cannot name another, so that one's settings are written out)."""
    user = parse_overrides(overrides)
    base, _ = base_preset(user)
    user.pop("preset", None)
    values = {**preset_values(base), **user}
    lines = [f"[presets.{name}]", f'description = "found by ganzoo tune, from preset {base}"', f"[presets.{name}.set]"]
    for key, value in values.items():
        lines.append(f'"{key}" = {_toml(value)}')
    return "\n".join(lines)


def _toml(value: Any) -> str:
    """A value as TOML; a number or boolean typed on the command line is written as one."""
    if isinstance(value, str):
        if value in ("true", "false"):
            return value
        for number in (int, float):
            try:
                return repr(number(value))
            except ValueError:
                pass
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value))

"""``ganzoo sweep``: every combination of the listed values, one after another, same budget and seed.

``ganzoo sweep critic.norm=batch,layer constraint=gp,clip train.steps=200`` runs four runs under
``sweeps/<time>/`` (or ``out=DIR``). A key with one value is shared by all runs. A bare comma
separates alternatives and a list is written in brackets (:mod:`ganzoo.registry.overrides`), so
``train.betas=[0,0.9],[0.5,0.99]`` sweeps two lists and ``train.betas=[0.5,0.999]`` is one value.
Interrupting a sweep keeps finished runs; running the same command with ``out=DIR`` again resumes
unfinished runs from their checkpoints and skips finished ones, but only when each run folder holds
the settings asked for: a rerun with changed settings is refused with the differences, before
anything runs. One sweep at a time per folder. A combination that ganzoo refuses
(say a BatchNorm critic with a gradient penalty) is recorded with its reason and the sweep goes on.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from ganzoo.errors import ConfigError, GanzooError, Interrupted, StorageError, os_reason
from ganzoo.registry.config import flatten, resolve
from ganzoo.registry.overrides import axes, parse_overrides, refuse_repeats
from ganzoo.registry.resume import RESUME_MAY_CHANGE, describe_diff, diff_configs
from ganzoo.runs.launch import resolve_for_data
from ganzoo.storage import checkpoint
from ganzoo.storage.folder import Busy, lock, read_config, read_eval


def plan(items: list[str]) -> tuple[list[tuple[str, list[str]]], list[str], str | None]:
    """(swept keys with their values, shared overrides, out dir)."""
    refuse_repeats(items)
    swept, shared, out = [], [], None
    for item, (key, values) in zip(items, axes(items)):
        value = item.partition("=")[2]
        if key == "out":
            out = str(Path(value).expanduser()) if value.strip() else value
            continue
        if key in ("resume",):
            raise ConfigError("resume= is not a sweep key; rerun the sweep with the same out=DIR to resume it.")
        if len(values) > 1:
            swept.append((key, values))
        else:
            shared.append(f"{key}={value}")
    return swept, shared, out


def run_name(combo: dict[str, str]) -> str:
    name = "__".join(f"{k}={v}" for k, v in combo.items()) or "run"
    return re.sub(r"[^A-Za-z0-9_.=,\-]+", "-", name)


def sweep(
    items: list[str], host, *, train: Callable[[list[str]], Path], evaluate: Callable[[Path], Any] | None, log: Callable[[str], None]
) -> tuple[Path, list[Path], dict[str, str]]:
    """Run every combination; returns (sweep dir, finished run dirs, refused combination -> reason).

    The whole sweep holds ``DIR/.lock``: a second sweep on the same ``out=`` is refused while the
    first runs. A run folder is never deleted: one started but without a checkpoint yet is resumed
    (its start is deterministic), and a folder ganzoo did not make is refused with its reason.
    """
    swept, shared, out = plan(items)
    root = Path(out) if out else Path("sweeps") / time.strftime("%Y%m%d-%H%M%S")
    combos = [dict(zip([k for k, _ in swept], values)) for values in itertools.product(*[v for _, v in swept])]
    if root.exists() and not root.is_dir():
        raise ConfigError(f"out={root} is a file, not a folder. Choose another out=DIR for the sweep.")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"Cannot create the sweep folder {root}: {os_reason(exc)}. Choose a writable out=DIR.") from None
    finished, refused = [], {}
    with _sweep_lock(root):
        changed = _changed(root, combos, shared, host)
        if changed:
            raise ConfigError(
                f"The sweep in {root} was run with other settings than these: {'; '.join(changed)}. A sweep resumes and "
                "reports only runs made with the settings asked for, so nothing was run or changed. Rerun it with the "
                "settings it was started with, or choose another out=DIR for the new ones."
            )
        for i, combo in enumerate(combos, 1):
            run_dir = root / run_name(combo)
            overrides = [*shared, *(f"{k}={v}" for k, v in combo.items())]
            log(f"[{i}/{len(combos)}] {run_name(combo)}")
            try:
                if (run_dir / "config.json").exists():
                    resolve([*overrides, f"out={run_dir}"], host)  # what is asked must be valid, as for a new run
                if _finished(run_dir):
                    log("  already finished")
                elif (run_dir / "config.json").exists():  # started before: continue it (from step 0 without a checkpoint)
                    train([f"resume={run_dir}"])
                else:
                    train([*overrides, f"out={run_dir}"])
                if evaluate is not None and read_eval(run_dir) is None:
                    evaluate(run_dir)
                finished.append(run_dir)
            except GanzooError as exc:
                if isinstance(exc, (StorageError, Interrupted)):
                    raise  # the machine or the user stopped the sweep: not a property of this combination
                refused[run_name(combo)] = str(exc)
                log(f"  refused: {exc}")
    return root, finished, refused


@contextlib.contextmanager
def _sweep_lock(root: Path) -> Iterator[None]:
    """``DIR/.lock`` for the whole sweep; a second sweep on the same folder is refused, not interleaved."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(lock(root))
        except Busy as exc:
            raise ConfigError(
                f"The sweep in {root} is already running ({exc.holder}). Wait for it to finish, or choose another "
                "out=DIR; two sweeps must never share one folder."
            ) from None
        yield


def _changed(root: Path, combos: list[dict[str, str]], shared: list[str], host) -> list[str]:
    """``NAME: key: stored -> asked; ...`` for each run folder whose configuration is not the one asked
    for now (keys that change only how a run is shown or how fast it goes may differ)."""
    may_differ = RESUME_MAY_CHANGE - {"train.steps", "train.max_minutes"}
    out = []
    for combo in combos:
        run_dir = root / run_name(combo)
        try:
            stored = flatten(read_config(run_dir)["config"])
            wanted = flatten(
                resolve_for_data(parse_overrides([*shared, *(f"{k}={v}" for k, v in combo.items()), f"out={run_dir}"]), host)[0].to_dict()
            )
        except ConfigError:  # no run there, or a refused combination: each is handled on its own
            continue
        diff = {k: v for k, v in diff_configs(stored, wanted).items() if k not in may_differ}
        if diff:
            out.append(f"{run_name(combo)}: {describe_diff(diff)}")
    return out


def _finished(run_dir: Path) -> bool:
    try:
        steps = int(read_config(run_dir)["config"]["train"]["steps"])
    except (ConfigError, KeyError, TypeError, ValueError):
        return False
    ckpts = checkpoint.list_checkpoints(run_dir / "checkpoints")
    return bool(ckpts) and int(ckpts[-1].name.split("-")[1]) >= steps

"""A ``ganzoo tune`` study: its folder, its Optuna storage, the workers that run its trials.

    DIR/study.json        the command the study was started with (the same command continues it)
    DIR/study.db          the default storage (SQLite); --storage takes any Optuna storage URL, or journal:PATH
    DIR/trials/trial-N/   trial N's ordinary ganzoo run folder (compare, eval and report work on it)
    DIR/logs/             each trial's stderr

The study owns its folder: a new study starts only in a folder that does not exist or is empty;
an existing one continues only where ``study.json`` is a ganzoo study record. Everything is checked
(the plan, the space, the storage) before the first file is written.

Workers claim trials under a file lock on the study folder, so a fixed number of trials is run,
each once (on several machines sharing a database, at most one extra per machine). While a
trial runs, its worker writes a heartbeat into the trial; a worker that sees a RUNNING trial
without a heartbeat for ``3 x --heartbeat`` seconds marks it failed and queues a retry with the
same parameters, which continues the trial's run folder from its last checkpoint.
Longer than 300 lines as ruff formats it: folder, plan and workers share the study record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ganzoo.errors import ConfigError, GanzooError, StorageError, os_reason
from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost
from ganzoo.registry.overrides import parse_overrides
from ganzoo.storage.atomic import target_of, write_json
from ganzoo.storage.folder import check_writable, read_config
from ganzoo.tuning.space import check_space, parse_objectives, parse_space
from ganzoo.tuning.storage import DB, open_storage, optuna_module, storage_errors
from ganzoo.tuning.trial import queue_retry, retry_of, run_trial

__all__ = [
    "Plan",
    "claim_folder",
    "plan_of",
    "open_study",
    "close",
    "prepare",
    "work",
    "used",
    "optuna_module",
    "StudyFailed",
    "all_failed",
]

NAME = "ganzoo"
RECORD = "study.json"
# Set by every trial from the plan (--trial-minutes, the study folder): not the user's to fix or search.
BUDGET_KEYS = ("train.max_minutes", "train.eval_every", "train.eval_n", "out")
NOT_FOR_A_STUDY = ("resume", "resume.allow", "preset-from")  # each trial is a new run of its own


class StudyFailed(GanzooError):
    """Every trial of the study failed: there is nothing to report as best."""

    exit_code = 1


def all_failed(study_dir: Path, states: list[str]) -> StudyFailed | None:
    """The error for a study whose every trial failed (``states``: each trial's state name), else None."""
    if not states or any(s != "FAIL" for s in states):
        return None
    return StudyFailed(
        f"Every trial of the study in {study_dir} failed ({len(states)} of {len(states)}), so it found nothing. "
        f"The table above gives each trial's reason, and {study_dir / 'logs'} each trial's output; fix the cause "
        "(or the plan), then run the same command with a larger --trials to go on."
    )


@dataclass
class Plan:
    """What a study searches; stored in study.json so that every worker and every rerun agree."""

    fixed: list[str]
    space: list[str]
    objectives: list[str]
    trials: int
    trial_minutes: float
    prune_every: int = 200  # train.eval_every of each trial: the values pruning sees (0: no pruning)
    eval_n: int | None = None  # images the final `ganzoo eval` of each trial scores (None: all held-out images, up to 2,000)
    storage: str = ""
    heartbeat_s: float = 20.0
    launcher: list[str] = field(default_factory=list)

    def check(self, host: PluginHost) -> None:
        """Refuse a plan that no trial can run, before anything is written."""
        space = parse_space(self.space)
        parse_objectives(self.objectives)
        if not (
            self.trials >= 1
            and 0 < self.trial_minutes < math.inf
            and self.prune_every >= 0
            and (self.eval_n is None or self.eval_n >= 4)
            and 0 < self.heartbeat_s < math.inf
        ):
            raise ConfigError(
                f"--trials must be at least 1 (got {self.trials}), --trial-minutes a finite number above 0 (got {self.trial_minutes}), "
                f"--prune-every at least 0 (got {self.prune_every}), --eval-n at least 4 (got {self.eval_n}) and --heartbeat a "
                f"finite number above 0 (got {self.heartbeat_s})."
            )
        if self.launcher and shutil.which(self.launcher[0]) is None:
            raise ConfigError(
                f"--launcher {' '.join(self.launcher)!r}: there is no command {self.launcher[0]!r} on this machine's PATH. "
                "Give a command that runs Python with the arguments it is given, e.g. --launcher 'torchrun --nproc_per_node=4'."
            )
        fixed = parse_overrides(self.fixed)
        searched = [p.key for p in space]
        for key in [k for k in (*fixed, *searched) if k in NOT_FOR_A_STUDY]:
            raise ConfigError(f"{key}= cannot be part of a study: each trial is a new run in DIR/trials. Remove it.")
        for key in [k for k in (*fixed, *searched) if k in BUDGET_KEYS]:
            raise ConfigError(
                f"{key} is set by ganzoo tune for every trial (the run folder DIR/trials/trial-N, the budget from "
                f"--trial-minutes, pruning from --prune-every), so it cannot be {'fixed' if key in fixed else 'searched'}. Remove it."
            )
        for key in [k for k in searched if k in fixed]:
            raise ConfigError(f"{key} is both fixed ({key}={fixed[key]}) and searched (--space {key}=...). Give it one or the other.")
        resolve(list(self.fixed), host, check_compat=False)  # a mistake in the fixed overrides fails now, not in every trial
        check_space(space, list(self.fixed), host)


def read_record(path: Path) -> Plan:
    """The plan in ``DIR/study.json``: the marker of a folder ganzoo made as a study."""
    try:
        record = json.loads(path.read_text())
    except OSError as exc:
        raise StorageError(f"Cannot read {path}: {os_reason(exc)}.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not a ganzoo study record (not valid JSON: {exc}).") from None
    fields = {f.name: f for f in dataclasses.fields(Plan)}
    required = [n for n, f in fields.items() if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    types = {
        "fixed": list,
        "space": list,
        "objectives": list,
        "trials": int,
        "trial_minutes": (int, float),
        "prune_every": int,
        "eval_n": (int, type(None)),
        "storage": str,
        "heartbeat_s": (int, float),
        "launcher": list,
    }
    ok = isinstance(record, dict) and set(record) <= set(fields) and all(k in record for k in required)
    ok = ok and all(isinstance(v, types[k]) and not isinstance(v, bool) for k, v in record.items())
    ok = ok and all(isinstance(x, str) for k in ("fixed", "space", "objectives", "launcher") for x in record.get(k, []))
    if not ok:
        raise ConfigError(
            f"{path} is not a ganzoo study record: ganzoo tune writes an object with {', '.join(fields)}. "
            f"{path.parent} looks like another tool's folder; choose another --study DIR."
        )
    return Plan(**record)


def claim_folder(study_dir: Path) -> None:
    """A study writes only into a folder that does not exist, is empty, or holds a ganzoo study
    (``study.json``): anything else is refused, saying what is there, before anything is written."""
    if "\0" in str(study_dir):
        raise ConfigError(f"--study {str(study_dir)!r} is not a usable folder name: it contains a NUL byte.")
    if not (study_dir.exists() or study_dir.is_symlink()):
        return
    if not study_dir.is_dir():
        raise ConfigError(f"--study {study_dir} is a file, not a folder. Choose another --study DIR.")
    if (study_dir / RECORD).exists():
        read_record(study_dir / RECORD)
        return
    try:  # another worker may be writing study.json this instant: its temporary file is not the user's
        entries = sorted(p.name for p in study_dir.iterdir() if (target_of(p.name) or ("",))[0] != RECORD)
    except OSError as exc:
        raise StorageError(f"Cannot read the folder {study_dir}: {os_reason(exc)}. Choose another --study DIR.") from None
    if not entries:
        return
    shown = ", ".join(entries[:6]) + (f" and {len(entries) - 6} more" if len(entries) > 6 else "")
    what = ""
    with contextlib.suppress(ConfigError):
        read_config(study_dir)
        what = " It holds a ganzoo run (config.json); a study keeps its trials' runs in DIR/trials and needs a folder of its own."
    if not what and DB in entries:
        what = f" Its {DB} is not a study ganzoo tune started here ({RECORD} is missing)."
    raise ConfigError(
        f"--study {study_dir} already exists and is not empty ({len(entries)} entries: {shown}), and it holds no ganzoo study "
        f"({RECORD}). A new study starts only in a folder that does not exist or is empty, so that nothing of yours is "
        f"overwritten.{what} Choose another --study DIR."
    )


def plan_of(study_dir: Path, given: Plan | None) -> Plan:
    """The study's plan: the stored one, checked against ``given`` (a rerun must ask for the same
    search; only the number of trials may change), or ``given`` for a new study."""
    path = study_dir / RECORD
    if not path.is_file():
        if given is None:
            raise ConfigError(
                f"{study_dir} holds no ganzoo study ({RECORD} is missing). Start one with ganzoo tune --study {study_dir} --space "
                "... --objective ..."
            )
        return given
    stored = read_record(path)
    if given is not None:
        mine, theirs = asdict(stored), asdict(given)
        differ = [k for k in mine if k not in ("trials", "launcher", "heartbeat_s") and mine[k] != theirs[k]]
        if differ:
            raise ConfigError(
                f"The study in {study_dir} was started with another search ({', '.join(f'{k}: {mine[k]!r}' for k in differ)}). "
                "Run the same command to continue it, or choose another --study DIR."
            )
        stored.trials, stored.launcher, stored.heartbeat_s = given.trials, given.launcher, given.heartbeat_s
    return stored


def where(plan: Plan, study_dir: Path) -> str:
    """The storage as errors name it."""
    from ganzoo.tuning.storage import shown

    return shown(plan.storage) if plan.storage else str(study_dir / DB)


def open_study(study_dir: Path, plan: Plan, read_only: bool = False) -> Any:
    """The study in its storage; ``read_only``: only load it (``--show``), never create or write."""
    optuna = optuna_module()
    directions = [d for _, d in parse_objectives(plan.objectives)]
    storage = open_storage(plan.storage, study_dir, read_only=read_only)
    with storage_errors(where(plan, study_dir)):
        if read_only:
            try:
                return optuna.load_study(study_name=NAME, storage=storage)
            except KeyError:
                raise ConfigError(f"The storage {where(plan, study_dir)} holds no ganzoo study yet: no trial has started.") from None
        pruner = (
            optuna.pruners.MedianPruner(n_startup_trials=2) if plan.prune_every and len(directions) == 1 else optuna.pruners.NopPruner()
        )
        return optuna.create_study(study_name=NAME, storage=storage, directions=directions, load_if_exists=True, pruner=pruner)


def close(study: Any) -> None:
    """Let go of the study's database connections (an open SQLite file keeps its mount busy)."""
    backend = getattr(study._storage, "_backend", study._storage)
    engine = getattr(backend, "engine", None)
    if engine is not None:
        engine.dispose()


def prepare(study_dir: Path, plan: Plan) -> None:
    """Create the study folder and record the plan (atomically; only the first time). The record
    comes first, so a folder ganzoo made is always marked as a study."""
    try:
        study_dir.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        raise StorageError(f"Cannot create the study folder {study_dir}: {os_reason(exc)}. Choose a writable --study DIR.") from None
    try:
        if not (study_dir / RECORD).exists():
            write_json(study_dir / RECORD, asdict(plan))
        for sub in ("trials", "logs"):
            (study_dir / sub).mkdir(exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"Cannot write the study folder {study_dir}: {os_reason(exc)}. Nothing else was written; make it writable or choose "
            "another --study DIR."
        ) from None
    check_writable(study_dir)  # an existing study on a read-only mount: refused here, not at its lock file


@contextlib.contextmanager
def _claim(study_dir: Path) -> Iterator[None]:
    with open(study_dir / ".claim.lock", "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def used(trials: list[Any]) -> int:
    """Trials that count toward --trials: a failed trial that was retried counts through its retry."""
    retried = {retry_of(t) for t in trials} - {None}
    return sum(1 for t in trials if t.number not in retried)


def fail_stale(study: Any, plan: Plan, log: Callable[[str], None]) -> None:
    """Fail RUNNING trials whose worker stopped sending heartbeats, and queue one retry of each."""
    optuna = optuna_module()
    now = time.time()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        beat = t.user_attrs.get("heartbeat") or (t.datetime_start.timestamp() if t.datetime_start else now)
        if now - float(beat) < 3 * plan.heartbeat_s:
            continue
        try:
            study._storage.set_trial_user_attr(t._trial_id, "error", "its worker stopped (no heartbeat); retried from its run's checkpoint")
            if not study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL):
                continue
        except Exception:  # another worker got there first
            continue
        retried = queue_retry(study, t)
        log(f"trial {t.number}: its worker stopped; marked failed" + (", retrying it" if retried else ""))


def work(study_dir: Path, plan: Plan, host: PluginHost, threads: int, log: Callable[[str], None]) -> None:
    """Run trials until the study has ``plan.trials`` of them, and every one has finished."""
    optuna = optuna_module()
    with _claim(study_dir):  # the first worker creates the storage's tables; the others must not race it
        study = open_study(study_dir, plan)
    space = parse_space(plan.space)
    with storage_errors(where(plan, study_dir)):
        while True:
            fail_stale(study, plan, log)
            with _claim(study_dir):
                trials = study.get_trials(deepcopy=False)
                waiting = any(t.state == optuna.trial.TrialState.WAITING for t in trials)
                running = any(t.state == optuna.trial.TrialState.RUNNING for t in trials)
                if not waiting and used(trials) >= plan.trials:
                    if not running:
                        break
                    trial = None
                else:
                    trial = study.ask()
            if trial is None:  # others are still running: wait, and take over a trial whose worker died
                time.sleep(min(plan.heartbeat_s, 5.0))
                continue
            run_trial(study, trial, study_dir, plan, space, host, threads, log)
    close(study)

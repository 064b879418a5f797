"""A ``ganzoo tune`` study: its folder, its Optuna storage, the workers that run its trials.

    DIR/study.json        the command the study was started with (the same command continues it)
    DIR/study.db          the default storage (SQLite); --storage takes any Optuna storage URL, or journal:PATH
    DIR/trials/trial-N/   trial N's ordinary ganzoo run folder (compare, eval and report work on it)
    DIR/logs/             each trial's stderr

Workers claim trials under a file lock on the study folder, so a fixed number of trials is run,
each once (on several machines sharing a database, at most one extra per machine). While a
trial runs, its worker writes a heartbeat into the trial; a worker that sees a RUNNING trial
without a heartbeat for ``3 x --heartbeat`` seconds marks it failed and queues a retry with the
same parameters, which continues the trial's run folder from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ganzoo.errors import ConfigError, GanzooError
from ganzoo.evaluation.scoring import evaluate_run
from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost
from ganzoo.runs.compare import summarise
from ganzoo.storage.atomic import write_json
from ganzoo.storage.folder import write_eval
from ganzoo.tuning import trial as trial_run
from ganzoo.tuning.space import parse_objectives, parse_space, sample

NAME = "ganzoo"
RECORD = "study.json"
BUDGET_KEYS = ("train.max_minutes", "train.progress", "train.eval_every", "train.eval_n", "out")


def optuna_module():
    try:
        import optuna
    except ImportError:
        raise GanzooError("ganzoo tune needs Optuna, an optional dependency: pip install 'ganzoo[tune]'.") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


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
        parse_space(self.space)
        parse_objectives(self.objectives)
        if self.trials < 1 or self.trial_minutes <= 0 or self.prune_every < 0 or (self.eval_n is not None and self.eval_n < 4) or self.heartbeat_s <= 0:
            raise ConfigError("--trials must be at least 1, --trial-minutes above 0, --prune-every at least 0, --eval-n at least 4 and --heartbeat above 0.")
        resolve(list(self.fixed), host, check_compat=False)  # a mistake in the fixed overrides fails now, not in every trial


def plan_of(study_dir: Path, given: Plan | None) -> Plan:
    """The study's plan: the stored one, checked against ``given`` (a rerun must ask for the same
    search; only the number of trials may change), or ``given`` for a new study."""
    path = study_dir / RECORD
    if not path.is_file():
        if given is None:
            raise ConfigError(f"{study_dir} holds no ganzoo study ({RECORD} is missing). Start one with ganzoo tune --study {study_dir} --space ... --objective ...")
        return given
    try:
        stored = Plan(**json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not a ganzoo study record ({exc}).") from None
    if given is not None:
        mine, theirs = asdict(stored), asdict(given)
        differ = [k for k in mine if k not in ("trials", "launcher", "heartbeat_s") and mine[k] != theirs[k]]
        if differ:
            raise ConfigError(f"The study in {study_dir} was started with another search ({', '.join(f'{k}: {mine[k]!r}' for k in differ)}). "
                              "Run the same command to continue it, or choose another --study DIR.")
        stored.trials, stored.launcher, stored.heartbeat_s = given.trials, given.launcher, given.heartbeat_s
    return stored


def storage(plan: Plan, study_dir: Path) -> Any:
    optuna = optuna_module()
    url = plan.storage or f"sqlite:///{(study_dir / 'study.db').resolve()}"
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url.removeprefix("journal:").removeprefix("//")))
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def open_study(study_dir: Path, plan: Plan) -> Any:
    optuna = optuna_module()
    directions = [d for _, d in parse_objectives(plan.objectives)]
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2) if plan.prune_every and len(directions) == 1 else optuna.pruners.NopPruner()
    return optuna.create_study(study_name=NAME, storage=storage(plan, study_dir), directions=directions, load_if_exists=True, pruner=pruner)


def prepare(study_dir: Path, plan: Plan) -> None:
    """Create the study folder and record the plan (atomically; only the first time)."""
    for sub in ("trials", "logs"):
        (study_dir / sub).mkdir(parents=True, exist_ok=True)
    write_json(study_dir / RECORD, asdict(plan))


@contextlib.contextmanager
def _claim(study_dir: Path) -> Iterator[None]:
    with open(study_dir / ".claim.lock", "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _retry_of(t: Any) -> int | None:
    value = t.user_attrs.get("retry_of")
    return int(value) if value is not None else None


def used(trials: list[Any]) -> int:
    """Trials that count toward --trials: a failed trial that was retried counts through its retry."""
    retried = {_retry_of(t) for t in trials} - {None}
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
        if _retry_of(t) is None:  # one retry per trial
            study.enqueue_trial(t.params, user_attrs={"retry_of": t.number}, skip_if_exists=False)
        log(f"trial {t.number}: its worker stopped; marked failed" + (", retrying it" if _retry_of(t) is None else ""))


def work(study_dir: Path, plan: Plan, host: PluginHost, threads: int, log: Callable[[str], None]) -> None:
    """Run trials until the study has ``plan.trials`` of them, and every one has finished."""
    optuna = optuna_module()
    with _claim(study_dir):  # the first worker creates the storage's tables; the others must not race it
        study = open_study(study_dir, plan)
    space = parse_space(plan.space)
    while True:
        fail_stale(study, plan, log)
        with _claim(study_dir):
            trials = study.get_trials(deepcopy=False)
            waiting = any(t.state == optuna.trial.TrialState.WAITING for t in trials)
            running = any(t.state == optuna.trial.TrialState.RUNNING for t in trials)
            if not waiting and used(trials) >= plan.trials:
                if not running:
                    return
                trial = None
            else:
                trial = study.ask()
        if trial is None:  # others are still running: wait, and take over a trial whose worker died
            time.sleep(min(plan.heartbeat_s, 5.0))
            continue
        run_trial(study, trial, study_dir, plan, space, host, threads, log)


@contextlib.contextmanager
def _heartbeat(trial: Any, every: float) -> Iterator[None]:
    """A thread that writes the time into the trial every ``every`` seconds while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while True:
            try:
                trial.set_user_attr("heartbeat", time.time())
            except Exception:  # the trial was finished meanwhile
                return
            if stop.wait(every):
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_trial(study: Any, trial: Any, study_dir: Path, plan: Plan, space: list, host: PluginHost, threads: int, log: Callable[[str], None]) -> None:
    optuna = optuna_module()
    TrialState = optuna.trial.TrialState
    origin = _retry_of(trial)
    run_dir = study_dir / "trials" / f"trial-{trial.number if origin is None else origin:04d}"
    objectives = parse_objectives(plan.objectives)
    try:
        overrides = sample(trial, space, list(plan.fixed), host)
        budget = [f"train.max_minutes={plan.trial_minutes:g}", "train.progress=false", f"out={run_dir}"]
        if plan.prune_every and len(objectives) == 1:
            budget[1:1] = [f"train.eval_every={plan.prune_every}", f"train.eval_n={max(10, min(500, plan.eval_n or 500))}"]
        resolve([*overrides, *budget], host)  # a refused combination fails this trial with its reason
    except GanzooError as exc:
        trial.set_user_attr("error", str(exc))
        study.tell(trial, state=TrialState.FAIL)
        log(f"trial {trial.number}: refused: {exc}")
        return
    trial.set_user_attr("overrides", overrides)
    trial.set_user_attr("run_dir", str(run_dir.relative_to(study_dir)))
    args = [f"resume={run_dir}"] if (run_dir / "config.json").is_file() else [*overrides, *budget]
    log(f"trial {trial.number}: " + (f"continues {run_dir.name}" if args[0].startswith("resume=") else " ".join(overrides[len(plan.fixed):]) or "(fixed only)"))

    def report(step: int, scores: dict) -> bool:
        value = scores.get(objectives[0][0])
        if not isinstance(value, (int, float)):
            return False
        trial.report(float(value), step)
        return trial.should_prune()

    with _heartbeat(trial, plan.heartbeat_s):  # from here to the end of the trial's evaluation
        outcome = trial_run.run(args, run_dir, launcher=plan.launcher, threads=threads, log=study_dir / "logs" / f"trial-{trial.number:04d}.log",
                                report=report)
        if outcome.pruned or outcome.returncode != 0:
            scores = None
        else:
            scores = evaluate_run(run_dir, host, n=plan.eval_n)
            write_eval(run_dir, scores)
            scores["steps_per_s"] = summarise(run_dir)["steps_per_s"]
    if outcome.pruned:
        study.tell(trial, state=TrialState.PRUNED)
        log(f"trial {trial.number}: pruned")
        return
    if outcome.returncode != 0:
        trial.set_user_attr("error", trial_run.error_paragraph(outcome.stderr_tail))
        study.tell(trial, state=TrialState.FAIL)
        log(f"trial {trial.number}: failed (exit {outcome.returncode}): {trial_run.error_paragraph(outcome.stderr_tail)[:300]}")
        return
    values = [float(scores[key]) for key, _ in objectives]
    study.tell(trial, values)
    log(f"trial {trial.number}: " + ", ".join(f"{k} {v:.4g}" for (k, _), v in zip(objectives, values)))

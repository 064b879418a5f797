"""One trial of ``ganzoo tune``: a ``ganzoo run`` process on the trial's own run folder.

A trial's folder is ``DIR/trials/trial-N``; it is continued only when it holds the trial's own
configuration (a retry). A folder that holds another one (the study's storage was lost or replaced,
and a new trial N sampled other values) is left as it is, and the trial starts afresh in
``trial-N-2`` (``-3``, ...), saying so: the parameters a study reports are always those trained.

The worker starts the run as a child process (optionally under a launcher such as
``torchrun --nproc_per_node=4``), reads the quality scores the run logs every ``train.eval_every``
steps, reports them to Optuna and, when Optuna prunes the trial, stops the run with SIGTERM: it
finishes its step and checkpoints, as for any SIGTERM. The child dies with its worker
(``PR_SET_PDEATHSIG`` on Linux), so a killed worker leaves a run that resumes exactly, and its
trial is retried from that run's checkpoint (:mod:`ganzoo.tuning.study`).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ganzoo.errors import ConfigError, GanzooError
from ganzoo.registry.overrides import merged
from ganzoo.storage.folder import read_config, read_metrics

if TYPE_CHECKING:
    from ganzoo.registry.host import PluginHost

POLL_S = 0.5


@dataclass
class Outcome:
    returncode: int
    pruned: bool
    stderr_tail: str


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def run(
    overrides: list[str], run_dir: Path, *, launcher: list[str], threads: int, log: Path, report: Callable[[int, dict], bool]
) -> Outcome:
    """Run ``ganzoo run OVERRIDES`` until it ends. ``report(step, scores)`` gets each new quality
    line and returns True to prune."""
    cmd = [*launcher, "-m", "ganzoo.cli", "run", *overrides] if launcher else [sys.executable, "-m", "ganzoo.cli", "run", *overrides]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    with open(log, "ab") as err:
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None
        )
        seen, pruned = 0, False
        try:
            while proc.poll() is None:
                time.sleep(POLL_S)
                evals = [r for r in read_metrics(run_dir / "metrics.jsonl") if isinstance(r.get("eval"), dict)]
                for record in evals[seen:]:
                    if not pruned and report(int(record["step"]), record["eval"]):
                        pruned = True
                        proc.send_signal(signal.SIGTERM)  # stops at the step boundary, checkpointed
                seen = len(evals)
        finally:
            if proc.poll() is None:  # the worker itself is stopping: the run checkpoints and stops too
                proc.send_signal(signal.SIGTERM)
                proc.wait()
    tail = log.read_bytes()[-1500:].decode(errors="replace") if log.exists() else ""
    return Outcome(proc.returncode, pruned, tail)


def error_paragraph(stderr_tail: str) -> str:
    """The last ``error:`` paragraph a ``ganzoo run`` printed (why it refused), or the tail."""
    text = " ".join(stderr_tail.split())
    at = text.rfind("error: ")
    return text[at + 7 :] if at >= 0 else text[-500:]


def killed_by(signum: int) -> str:
    """How a run that died of signal ``signum`` is described."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = "an unknown signal"
    why = ": the out-of-memory killer sends it when the machine runs out of memory" if signum == signal.SIGKILL else ""
    return f"killed by signal {signum} ({name}{why})"


def retry_of(t: Any) -> int | None:
    value = t.user_attrs.get("retry_of")
    return int(value) if value is not None else None


def queue_retry(study: Any, t: Any) -> bool:
    """Queue one retry of failed trial ``t`` with its parameters (it continues the trial's run folder
    from its last checkpoint). A retry is not retried again. Returns whether one was queued."""
    if retry_of(t) is not None:
        return False
    study.enqueue_trial(t.params, user_attrs={"retry_of": t.number}, skip_if_exists=False)
    return True


def trial_folder(study_dir: Path, number: int, overrides: list[str], host: "PluginHost") -> tuple[Path, bool, list[str]]:
    """(run folder, whether the trial continues it, why folders before it were passed over) for trial
    ``number``, whose run is ``overrides``: the first of ``trial-N``, ``trial-N-2``... that is missing,
    empty, or holds this very configuration. Raises the run's own ConfigError for a refused one."""
    from ganzoo.registry.config import flatten, resolve
    from ganzoo.registry.resume import describe_diff, diff_configs

    wanted = flatten(resolve([*overrides, f"out={study_dir}"], host).to_dict())  # ``out`` is not compared
    passed: list[str] = []
    for k in itertools.count(1):
        run_dir = study_dir / "trials" / (f"trial-{number:04d}" + (f"-{k}" if k > 1 else ""))
        if not (run_dir.exists() or run_dir.is_symlink()):
            return run_dir, False, passed
        if run_dir.is_dir() and not run_dir.is_symlink() and not [p for p in run_dir.iterdir() if p.name != ".lock"]:
            return run_dir, False, passed
        try:
            stored = flatten(read_config(run_dir)["config"])
        except ConfigError:
            passed.append(f"{run_dir.name} holds files that are not a ganzoo run")
            continue
        changed = diff_configs(stored, wanted)
        if not changed:
            return run_dir, True, passed
        passed.append(f"{run_dir.name} holds another configuration ({describe_diff(changed)[:300]})")
    raise AssertionError("unreachable")


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


def run_trial(
    study: Any, trial: Any, study_dir: Path, plan: Any, space: list, host: "PluginHost", threads: int, log: Callable[[str], None]
) -> None:
    """Run one trial of ``plan`` (a :class:`ganzoo.tuning.study.Plan`) to its end and tell the study how it went."""
    from ganzoo.evaluation.scoring import evaluate_run
    from ganzoo.runs.compare import summarise
    from ganzoo.storage.folder import write_eval
    from ganzoo.tuning.space import parse_objectives, sample
    from ganzoo.tuning.storage import optuna_module

    TrialState = optuna_module().trial.TrialState
    origin = retry_of(trial)
    number = trial.number if origin is None else origin
    objectives = parse_objectives(plan.objectives)
    budget = [f"train.max_minutes={plan.trial_minutes:g}", "train.progress=false"]
    if plan.prune_every and len(objectives) == 1:
        budget[1:1] = [f"train.eval_every={plan.prune_every}", f"train.eval_n={max(10, min(500, plan.eval_n or 500))}"]
    try:
        overrides = sample(trial, space, list(plan.fixed), host)
        run_dir, resume, passed = trial_folder(study_dir, number, [*overrides, *budget], host)  # a refused combination fails here
    except GanzooError as exc:
        trial.set_user_attr("error", str(exc))
        study.tell(trial, state=TrialState.FAIL)
        log(f"trial {trial.number}: refused: {exc}")
        return
    trial.set_user_attr("overrides", overrides)
    trial.set_user_attr("run_dir", str(run_dir.relative_to(study_dir)))
    if passed:
        log(
            f"trial {trial.number}: {'; '.join(passed)}, so not this trial's run (left as it is): this trial starts afresh in "
            f"{run_dir.name}"
        )
    args = [f"resume={run_dir}"] if resume else merged(overrides, [*budget, f"out={run_dir}"])  # each key once
    log(f"trial {trial.number}: " + (f"continues {run_dir.name}" if resume else " ".join(overrides[len(plan.fixed) :]) or "(fixed only)"))

    def report(step: int, scores: dict) -> bool:
        value = scores.get(objectives[0][0])
        if not isinstance(value, (int, float)):
            return False
        trial.report(float(value), step)
        return trial.should_prune()

    with _heartbeat(trial, plan.heartbeat_s):  # from here to the end of the trial's evaluation
        outcome = run(args, run_dir, launcher=plan.launcher, threads=threads, log=study_dir / "logs" / f"{run_dir.name}.log", report=report)
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
    if outcome.returncode < 0:  # died without a word (the OOM killer's SIGKILL): retried from its checkpoint, as a lost worker is
        error = killed_by(-outcome.returncode)
        trial.set_user_attr(
            "error", error + ("; not retried again: it was a retry itself" if origin is not None else "; retried from its run's checkpoint")
        )
        study.tell(trial, state=TrialState.FAIL)
        retried = queue_retry(study, trial)
        log(f"trial {trial.number}: {error}" + (", retrying it from its run's checkpoint" if retried else ""))
        return
    if outcome.returncode != 0:
        trial.set_user_attr("error", error_paragraph(outcome.stderr_tail))
        study.tell(trial, state=TrialState.FAIL)
        log(f"trial {trial.number}: failed (exit {outcome.returncode}): {error_paragraph(outcome.stderr_tail)[:300]}")
        return
    values = [float(scores[key]) for key, _ in objectives]
    study.tell(trial, values)
    log(f"trial {trial.number}: " + ", ".join(f"{k} {v:.4g}" for (k, _), v in zip(objectives, values)))

"""One trial of ``ganzoo tune``: a ``ganzoo run`` process on the trial's own run folder.

The worker starts the run as a child process (optionally under a launcher such as
``torchrun --nproc_per_node=4``), reads the quality scores the run logs every ``train.eval_every``
steps, reports them to Optuna and, when Optuna prunes the trial, stops the run with SIGTERM: it
finishes its step and checkpoints, as for any SIGTERM. The child dies with its worker
(``PR_SET_PDEATHSIG`` on Linux), so a killed worker leaves a run that resumes exactly, and its
trial is retried from that run's checkpoint (:mod:`ganzoo.tuning.study`).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ganzoo.storage.folder import read_metrics

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


def run(overrides: list[str], run_dir: Path, *, launcher: list[str], threads: int, log: Path,
        report: Callable[[int, dict], bool]) -> Outcome:
    """Run ``ganzoo run OVERRIDES`` until it ends. ``report(step, scores)`` gets each new quality
    line and returns True to prune."""
    cmd = [*launcher, "-m", "ganzoo.cli", "run", *overrides] if launcher else [sys.executable, "-m", "ganzoo.cli", "run", *overrides]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    with open(log, "ab") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
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
    return text[at + 7:] if at >= 0 else text[-500:]

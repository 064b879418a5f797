"""Fault injection for the reliability tests: ``GANZOO_FAULT=ACTION:POINT:N[:TIMES]``.

Only tests set this variable; with it unset, :func:`active` returns ``None`` and the trainer skips
every hook with one ``if``. The trainer reads the variable once, when it is built.

Actions and points (N counts from 1 in the process that reads the variable):

- ``kill:critic_step:N``        SIGKILL right after the N-th critic optimiser step of the run
- ``kill:generator_step:N``     SIGKILL after generator step N's optimiser step, before its metrics line
- ``kill:logged:N``             SIGKILL after step N's metrics line, before its checkpoint
- ``kill:checkpoint_write:N``   SIGKILL while checkpoint N is half-written (weights in the temporary
                                folder, no state.json, not renamed into place)
- ``kill:checkpoint_swap:N``    SIGKILL between moving an existing checkpoint N aside and renaming
                                the new one into place (only when step N is saved a second time)
- ``kill:checkpoint_prune:N``   SIGKILL after checkpoint N is in place, before older ones are pruned
- ``nan:QUANTITY:N`` / ``inf:QUANTITY:N``  make a quantity non-finite: ``loss_d``, ``penalty`` or
  ``critic_grad`` at critic step N; ``loss_g`` or ``generator_grad`` at generator step N.

``TIMES`` (default 1) is how often the fault fires; ``always`` fires every time the point is
reached, e.g. ``nan:loss_g:3:always`` makes every retry of generator step 3 fail too.

SIGKILL is sent by the process to itself, so the kill lands at an exact point yet is a real
SIGKILL: no ``finally`` blocks, no atexit handlers, no flushing of Python buffers.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from typing import Iterable

import torch

from ganzoo.errors import ConfigError

ENV = "GANZOO_FAULT"
KILL_POINTS = ("critic_step", "generator_step", "logged", "checkpoint_write", "checkpoint_swap", "checkpoint_prune")
VALUE_POINTS = ("loss_d", "penalty", "critic_grad", "loss_g", "generator_grad")


@dataclass
class Fault:
    action: str  # "kill", "nan" or "inf"
    point: str
    at: int
    times: int | None  # None: always
    fired: int = 0

    def _due(self, point: str, n: int) -> bool:
        if point != self.point or n != self.at or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True

    def kill(self, point: str, n: int) -> None:
        """SIGKILL this process when the fault is ``kill:point:n``."""
        if self.action == "kill" and self._due(point, n):
            os.kill(os.getpid(), signal.SIGKILL)

    def corrupt(self, point: str, n: int, value: torch.Tensor) -> torch.Tensor:
        """``value`` times NaN (or +Inf) when the fault names this point; keeps the autograd graph."""
        if self.action != "kill" and self._due(point, n):
            return value * float(self.action)
        return value

    def corrupt_grads(self, point: str, n: int, params: Iterable[torch.nn.Parameter]) -> None:
        """Set one element of the first gradient to NaN (or +Inf) when the fault names this point."""
        if self.action != "kill" and self._due(point, n):
            grad = next(p.grad for p in params if p.grad is not None)
            grad[(0,) * grad.dim()] = float(self.action)


def parse(spec: str) -> Fault | None:
    if not spec.strip():
        return None
    parts = spec.strip().split(":")
    if len(parts) not in (3, 4):
        raise ConfigError(f"{ENV}={spec!r}: expected ACTION:POINT:N[:TIMES], e.g. kill:critic_step:7 (see ganzoo/faults.py).")
    action, point = parts[0], parts[1]
    points = KILL_POINTS if action == "kill" else VALUE_POINTS if action in ("nan", "inf") else ()
    if point not in points:
        raise ConfigError(f"{ENV}={spec!r}: unknown action or point; kill takes {', '.join(KILL_POINTS)}; nan and inf take {', '.join(VALUE_POINTS)}.")
    try:
        at = int(parts[2])
        times = None if len(parts) == 4 and parts[3] == "always" else int(parts[3]) if len(parts) == 4 else 1
    except ValueError:
        raise ConfigError(f"{ENV}={spec!r}: N and TIMES must be integers (TIMES may be 'always').") from None
    return Fault(action, point, at, times)


def active() -> Fault | None:
    """A fresh fault from the environment, or ``None`` (always, outside the reliability tests)."""
    return parse(os.environ.get(ENV, ""))


def kill_point(point: str, n: int) -> None:
    """For code outside the trainer (checkpoint writing): SIGKILL here when the active fault says so."""
    fault = active()
    if fault is not None:
        fault.kill(point, n)

"""Fault injection for the reliability tests: one variable, ``GANZOO_FAULT=ACTION:POINT:N[:TIMES][@rankR]``.

Only tests set it; with it unset, :func:`active` returns ``None`` and the trainer skips every hook
with one ``if``. It is read and checked when the trainer is built (before a torchrun process joins
its peers), and again by checkpoint writing. A malformed value is one paragraph, exit 2.

- ``ACTION`` is what happens: ``kill`` (the process sends itself SIGKILL), ``raise`` (it raises an
  error, as a crashing rank would), or ``nan`` / ``inf`` (a quantity becomes NaN or +Inf).
- ``POINT`` is where. ``kill`` and ``raise`` take the points of the step and of checkpoint writing:

  - ``critic_step:N``        right after the N-th critic optimiser step of the run
  - ``generator_step:N``     after generator step N's optimiser step, before its metrics line
  - ``logged:N``             after step N's metrics line, before its checkpoint
  - ``checkpoint_write:N``   while checkpoint N is half-written (weights in the temporary folder, no
                             state.json, not renamed into place)
  - ``checkpoint_swap:N``    between moving an existing checkpoint N aside and renaming the new one
                             into place (only when step N is saved a second time)
  - ``checkpoint_prune:N``   after checkpoint N is in place, before older ones are pruned

  ``nan`` and ``inf`` take the quantities the guard checks: ``loss_d``, ``penalty`` or
  ``critic_grad`` at critic step N; ``loss_g`` or ``generator_grad`` at generator step N.
- ``TIMES`` (default 1) is how often the fault fires; ``always`` fires every time the point is
  reached, e.g. ``nan:loss_g:3:always`` makes every retry of generator step 3 fail too.
- ``@rankR`` fires on torchrun's rank R only (every process otherwise), e.g.
  ``raise:generator_step:3@rank1`` or ``kill:generator_step:3@rank1``.

SIGKILL is sent by the process to itself, so the kill lands at an exact point yet is a real
SIGKILL: no ``finally`` blocks, no atexit handlers, no flushing of Python buffers.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from typing import Iterable

import torch

from ganzoo import ranks
from ganzoo.errors import ConfigError, did_you_mean

ENV = "GANZOO_FAULT"
ACTIONS = {
    "kill": "the process sends itself SIGKILL",
    "raise": "the process raises an error",
    "nan": "a quantity becomes NaN",
    "inf": "a quantity becomes +Inf",
}
PROCESS_POINTS = ("critic_step", "generator_step", "logged", "checkpoint_write", "checkpoint_swap", "checkpoint_prune")
VALUE_POINTS = ("loss_d", "penalty", "critic_grad", "loss_g", "generator_grad")
FORM = "ACTION:POINT:N[:TIMES][@rankR], e.g. kill:critic_step:7, nan:loss_g:3:always or raise:generator_step:3@rank1"
# Variables of an older form of this hook, refused with the new form instead of being ignored.
RETIRED = ("GANZOO_FAULT_RANK", "GANZOO_FAULT_STEP", "GANZOO_FAULT_MODE")


@dataclass
class Fault:
    action: str  # kill, raise, nan or inf
    point: str
    at: int
    times: int | None  # None: always
    rank: int | None = None  # None: every rank
    spec: str = ""
    fired: int = 0

    def _due(self, point: str, n: int) -> bool:
        if point != self.point or n != self.at or (self.times is not None and self.fired >= self.times):
            return False
        if self.rank is not None and self.rank != ranks.rank():
            return False
        self.fired += 1
        return True

    def strike(self, point: str, n: int) -> None:
        """SIGKILL this process, or raise, when the fault is ``kill:point:n`` or ``raise:point:n`` (for this rank)."""
        if self.action in ("kill", "raise") and self._due(point, n):
            if self.action == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"injected fault on rank {ranks.rank()} at {point} {n} ({ENV}={self.spec})")

    def corrupt(self, point: str, n: int, value: torch.Tensor) -> torch.Tensor:
        """``value`` times NaN (or +Inf) when the fault names this point; keeps the autograd graph."""
        if self.action in ("nan", "inf") and self._due(point, n):
            return value * float(self.action)
        return value

    def corrupt_grads(self, point: str, n: int, params: Iterable[torch.nn.Parameter]) -> None:
        """Set one element of the first gradient to NaN (or +Inf) when the fault names this point."""
        if self.action in ("nan", "inf") and self._due(point, n):
            grad = next(p.grad for p in params if p.grad is not None)
            grad[(0,) * grad.dim()] = float(self.action)


def _whole(spec: str, what: str, text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise ConfigError(f"{ENV}={spec!r}: {what} {text!r} is not a whole number of at least {low}. The form is {FORM}.")
    return value


def parse(spec: str) -> Fault | None:
    """The fault ``spec`` names, every part checked; None for an empty one."""
    text = spec.strip()
    if not text:
        return None
    body, at_sign, where = text.partition("@")
    parts = body.split(":")
    if len(parts) not in (3, 4) or (at_sign and not where.startswith("rank")):
        raise ConfigError(
            f"{ENV}={spec!r} cannot be read: the form is {FORM}. Actions: " + "; ".join(f"{k} ({v})" for k, v in ACTIONS.items()) + "."
        )
    action, point = parts[0], parts[1]
    if action not in ACTIONS:
        raise ConfigError(
            f"{ENV}={spec!r}: {action!r} is not an action.{did_you_mean(action, ACTIONS)} Valid actions: "
            + "; ".join(f"{k} ({v})" for k, v in ACTIONS.items())
            + f". The form is {FORM}."
        )
    points = PROCESS_POINTS if action in ("kill", "raise") else VALUE_POINTS
    if point not in points:
        raise ConfigError(
            f"{ENV}={spec!r}: {point!r} is not a point for {action}.{did_you_mean(point, points)} {action} takes "
            f"{', '.join(points)}; kill and raise take {', '.join(PROCESS_POINTS)}; nan and inf take {', '.join(VALUE_POINTS)}."
        )
    at = _whole(spec, "N", parts[2], 1)
    times = None if len(parts) == 4 and parts[3] == "always" else _whole(spec, "TIMES", parts[3], 1) if len(parts) == 4 else 1
    rank = _whole(spec, "the rank", where.removeprefix("rank"), 0) if at_sign else None
    return Fault(action, point, at, times, rank, text)


def active() -> Fault | None:
    """A fresh fault from the environment, or ``None`` (always, outside the reliability tests)."""
    old = [name for name in RETIRED if name in os.environ]
    if old:
        raise ConfigError(
            f"{', '.join(old)} {'is' if len(old) == 1 else 'are'} no longer read: one variable names the fault and "
            f"its rank, {ENV}={FORM}. Unset {' and '.join(old)}."
        )
    return parse(os.environ.get(ENV, ""))


def strike_point(point: str, n: int) -> None:
    """For code outside the trainer (checkpoint writing): SIGKILL or raise here when the active fault says so."""
    fault = active()
    if fault is not None:
        fault.strike(point, n)

"""Keeps NaN and Inf out of the weights and the checkpoints.

The trainer snapshots the networks and optimisers at the start of every generator step
(:meth:`NonFiniteGuard.begin`), reports each loss, penalty and gradient to the guard as it computes
them, and asks :meth:`NonFiniteGuard.step_ok` once the step is done. The checks stay on the device
(a few tiny kernels per optimiser step, no host sync); the one sync per generator step is
:meth:`step_ok`. A failed step is undone with :meth:`rollback`, so a non-finite value never outlives
the generator step it appeared in: it is never logged as progress, never sampled, never saved.

The guard remembers the quantities that were non-finite in the *first* bad optimiser update of the
step, so the error names the cause (say, the penalty), not its echoes in later updates.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn

from ganzoo.errors import GanzooError
from ganzoo.faults import Fault

# Each checked quantity (also the GANZOO_FAULT point that corrupts it) and how an error names it.
QUANTITIES = {
    "loss_d": "the critic loss (loss_d)",
    "penalty": "the critic penalty",
    "critic_grad": "the critic's gradient",
    "loss_g": "the generator loss (loss_g)",
    "generator_grad": "the generator's gradient",
}

_INDEX = {q: i for i, q in enumerate(QUANTITIES)}


class NonFiniteError(GanzooError):
    """Training stopped because a loss, penalty or gradient stayed non-finite after the allowed retries."""

    exit_code = 3


class NonFiniteGuard:
    def __init__(
        self, modules: Iterable[nn.Module], optimizers: Iterable[torch.optim.Optimizer], device: torch.device, fault: Fault | None = None
    ):
        self.modules, self.optimizers = list(modules), list(optimizers)
        self.fault = fault  # test-only fault injection (ganzoo.faults); None in real runs
        self.failures = 0  # consecutive failed attempts at the current generator step
        self.pending = torch.zeros(len(QUANTITIES), dtype=torch.bool, device=device)  # this update
        self.first = torch.zeros_like(self.pending)  # the first bad update of this step
        self.bad = torch.zeros((), dtype=torch.bool, device=device)  # any bad update this step
        self._modules_saved: list[dict[str, torch.Tensor]] = []
        self._optim_saved: list[list[dict | None]] = []

    # -- checks (on the device) --------------------------------------------------------------
    def screen(self, quantity: str, n: int, value: torch.Tensor) -> torch.Tensor:
        """Flag ``value`` (a loss or penalty of critic/generator step ``n``) if any element is non-finite."""
        if self.fault is not None:
            value = self.fault.corrupt(quantity, n, value)
        self.pending[_INDEX[quantity]] |= ~torch.isfinite(value.detach()).all()
        return value

    def screen_grads(self, quantity: str, n: int, params: Iterable[nn.Parameter]) -> None:
        """Flag the gradients of ``params`` (after backward, before the optimiser step) if any is non-finite."""
        params = list(params)
        if self.fault is not None:
            self.fault.corrupt_grads(quantity, n, params)
        grads = [p.grad for p in params if p.grad is not None]
        if grads:  # the inf-norm is the largest |g|: NaN or Inf if any element is, never overflows
            self.pending[_INDEX[quantity]] |= ~torch.isfinite(torch.nn.utils.get_total_norm(grads, math.inf))

    def end_update(self, point: str, n: int) -> None:
        """Call after each optimiser update: folds this update's flags into the step's."""
        self.first |= self.pending & ~self.bad
        self.bad |= self.pending.any()
        self.pending.zero_()
        self.fault_point(point, n)

    def fault_point(self, point: str, n: int) -> None:
        """Reliability tests: where GANZOO_FAULT may kill the process or make it raise."""
        if self.fault is not None:
            self.fault.strike(point, n)

    # -- the step ------------------------------------------------------------------------------
    @torch.no_grad()
    def begin(self) -> None:
        """Snapshot the networks (weights and buffers) and optimiser state: the last good state."""
        self.first.zero_()
        self.bad.zero_()
        self.pending.zero_()
        self._modules_saved = [
            _copy_into(old, m.state_dict()) for old, m in zip(self._modules_saved or [None] * len(self.modules), self.modules)
        ]
        self._optim_saved = [_optim_snapshot(o, old) for o, old in zip(self.optimizers, self._optim_saved or [None] * len(self.optimizers))]

    def step_ok(self) -> bool:
        """True when every checked value of this step was finite; counts consecutive failures."""
        ok = not bool(self.bad)  # the one host sync per generator step
        self.failures = 0 if ok else self.failures + 1
        return ok

    def culprits(self) -> list[str]:
        """How an error names the quantities that were non-finite in the step's first bad update."""
        return [QUANTITIES[q] for q, flag in zip(QUANTITIES, self.first.tolist()) if flag]

    @torch.no_grad()
    def rollback(self) -> None:
        """Put back the state saved by :meth:`begin`."""
        for module, saved in zip(self.modules, self._modules_saved):
            for key, live in module.state_dict().items():
                live.copy_(saved[key])
        for opt, saved in zip(self.optimizers, self._optim_saved):
            params = [p for g in opt.param_groups for p in g["params"]]
            for p, st in zip(params, saved):
                if st is None:
                    opt.state.pop(p, None)  # no state before the step (the first step)
                else:
                    live = opt.state[p]
                    for k, v in st.items():
                        if isinstance(v, torch.Tensor) and isinstance(live.get(k), torch.Tensor):
                            live[k].copy_(v)
                        else:
                            live[k] = v.clone() if isinstance(v, torch.Tensor) else v


def _copy_into(old: dict[str, torch.Tensor] | None, new: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``new``'s tensors copied into ``old``'s buffers when they match, fresh clones otherwise."""
    if old is None or old.keys() != new.keys() or any(old[k].shape != v.shape or old[k].dtype != v.dtype for k, v in new.items()):
        return {k: v.detach().clone() for k, v in new.items()}
    torch._foreach_copy_(list(old.values()), list(new.values()))  # one call instead of a copy per tensor
    return old


def _optim_snapshot(opt: torch.optim.Optimizer, old: list[dict | None] | None) -> list[dict | None]:
    params = [p for g in opt.param_groups for p in g["params"]]
    out: list[dict | None] = []
    for i, p in enumerate(params):
        st = opt.state.get(p)
        if not st:
            out.append(None)
            continue
        prev = old[i] if old is not None and i < len(old) else None
        tensors = {k: v for k, v in st.items() if isinstance(v, torch.Tensor)}
        saved = _copy_into({k: prev[k] for k in tensors} if prev and prev.keys() >= tensors.keys() else None, tensors)
        out.append({**{k: v for k, v in st.items() if not isinstance(v, torch.Tensor)}, **saved})
    return out

"""The evidence ``ganzoo doctor`` reads, computed in the hot path every ``train.diag_every`` steps.

:class:`Evidence` is called by :class:`~ganzoo.training.steps.Steps` at three points: after each
critic step (its after-step done), and just before and just after the generator's update. It
keeps 0-d tensors on the device and never reads one back (no host sync): the loop merges
:meth:`Evidence.figures` into the step's statistics, averages them over ranks and turns them into
numbers in its one transfer per step, and :func:`finish` turns the raw moments into spreads.

What a diagnosed step adds to its ``metrics.jsonl`` line (means over the step's ``n_critic``
critic steps where there are several):

- ``real_score``, ``fake_score``: the critic's mean score on real and on generated images;
  ``real_score_sd``, ``fake_score_sd``: their spread within a batch (the root of the within-batch
  variance, averaged over the step's critic steps and, under torchrun, over each rank's shard);
- ``critic_acc``: for a loss with a classifier reading (``Loss.decision_threshold``), the share of
  real images scored above the threshold and generated ones below it, real and fake weighted alike;
- ``penalty_share``: for a constraint with a penalty, penalty / (|loss| + penalty);
- ``clipped_share``: for a constraint that acts on weights and has a ``limit`` option (``clip``),
  the share of the critic's weights sitting at the limit after its after-step;
- ``grad_critic``, ``grad_generator``: the L2 norm of each network's gradient (after averaging over
  ranks, so global), and ``grad_critic.BLOCK`` per named child of the network (its top-level blocks);
- ``g_update``: the size of the generator's update relative to its weights, ||Δθ|| / ||θ||.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.components import Constraint, Loss

SPREADS = {"real_score_var": "real_score_sd", "fake_score_var": "fake_score_sd"}  # mean within-batch variance -> its root


def blocks(module: nn.Module) -> list[tuple[str, list[nn.Parameter]]]:
    """The network's top-level blocks (named children) that hold trainable parameters, with them;
    parameters held by the module itself form a block named ``own``."""
    out = [(name, [p for p in child.parameters() if p.requires_grad]) for name, child in module.named_children()]
    own = [p for p in module.parameters(recurse=False) if p.requires_grad]
    return [(name, ps) for name, ps in [*out, ("own", own)] if ps]


def grad_norms(prefix: str, parts: list[tuple[str, list[nn.Parameter]]], device: torch.device) -> dict[str, torch.Tensor]:
    """``{prefix: total, prefix.BLOCK: block}`` L2 gradient norms (parameters without a gradient count as 0)."""
    out = {}
    for name, params in parts:
        grads = [p.grad for p in params if p.grad is not None]
        out[f"{prefix}.{name}"] = torch.nn.utils.get_total_norm(grads, 2.0).float() if grads else torch.zeros((), device=device)
    out[prefix] = torch.linalg.vector_norm(torch.stack(list(out.values()))) if out else torch.zeros((), device=device)  # (,)
    return out


class Evidence:
    """Accumulates one generator step's evidence on the device; :meth:`due` says which steps."""

    def __init__(self, critic: nn.Module, generator: nn.Module, loss: Loss, constraint: Constraint, every: int, device: torch.device):
        self.every, self.device = every, device
        self.threshold = loss.decision_threshold
        self.has_penalty = type(constraint).penalty is not Constraint.penalty
        limit = getattr(getattr(constraint, "cfg", None), "limit", None)
        self.limit = float(limit) if constraint.acts_on_weights and isinstance(limit, (int, float)) else None
        self.critic_params = [p for p in critic.parameters() if p.requires_grad]
        self.critic_blocks, self.generator_blocks = blocks(critic), blocks(generator)
        self.generator_params = [p for _, ps in self.generator_blocks for p in ps]
        self._before: list[torch.Tensor] | None = None  # the generator's weights before its update
        self._size = torch.zeros((), device=device)
        self.active = False
        self._sums: dict[str, torch.Tensor] = {}
        self._critic_steps = 0
        self._generator: dict[str, torch.Tensor] = {}

    def due(self, step: int) -> bool:
        """True for the generator step numbered ``step + 1`` when it is one to diagnose."""
        return self.every > 0 and (step + 1) % self.every == 0

    def begin(self, step: int) -> None:
        """A generator step starts (``step`` steps done): forget the last one's evidence."""
        self.active = self.due(step)
        self._sums, self._critic_steps, self._generator = {}, 0, {}

    # -- the critic phase ------------------------------------------------------------------------
    @torch.no_grad()
    def critic_step(self, real_scores: torch.Tensor, fake_scores: torch.Tensor, loss: torch.Tensor, penalty: torch.Tensor | None) -> None:
        """After a critic step's update and after-step: its scores (B,), loss, penalty, gradients and weights."""
        if not self.active:
            return
        real, fake = real_scores.detach().float(), fake_scores.detach().float()  # (B,), (B,)
        figures = {
            "real_score": real.mean(),
            "real_score_var": real.var(correction=0),
            "fake_score": fake.mean(),
            "fake_score_var": fake.var(correction=0),
        }
        if self.threshold is not None:
            figures["critic_acc"] = 0.5 * ((real > self.threshold).float().mean() + (fake < self.threshold).float().mean())
        if self.has_penalty:
            p = torch.zeros((), device=real.device) if penalty is None else penalty.detach().float().abs()
            figures["penalty_share"] = p / (loss.detach().float().abs() + p).clamp_min(1e-30)
        if self.limit is not None:
            at_limit = sum((p.detach().abs() >= self.limit * (1 - 1e-6)).sum() for p in self.critic_params)
            figures["clipped_share"] = at_limit.float() / sum(p.numel() for p in self.critic_params)
        figures.update(grad_norms("grad_critic", self.critic_blocks, self.device))
        for key, value in figures.items():
            self._sums[key] = value if key not in self._sums else self._sums[key] + value
        self._critic_steps += 1

    # -- the generator phase ---------------------------------------------------------------------
    @torch.no_grad()
    def before_generator_update(self) -> None:
        """Keep the generator's weights as they are before its update (one copy, reused)."""
        if not self.active:
            return
        live = [p.detach() for p in self.generator_params]
        self._size = torch.nn.utils.get_total_norm(live, 2.0)  # ||θ|| before the update
        if self._before is None or any(b.shape != p.shape or b.dtype != p.dtype for b, p in zip(self._before, live)):
            self._before = [p.clone() for p in live]
        else:
            torch._foreach_copy_(self._before, live)

    @torch.no_grad()
    def after_generator_update(self) -> None:
        """The generator's gradient norms and its update's size relative to its weights."""
        if not self.active or self._before is None:
            return
        live = [p.detach() for p in self.generator_params]
        torch._foreach_sub_(self._before, live)  # the buffer now holds -Δθ
        change = torch.nn.utils.get_total_norm(self._before, 2.0)
        self._generator = {
            **grad_norms("grad_generator", self.generator_blocks, self.device),
            "g_update": (change / self._size.clamp_min(1e-30)).float(),
        }

    def figures(self) -> dict[str, torch.Tensor]:
        """This step's evidence as 0-d tensors (means over its critic steps); empty on other steps."""
        if not self.active:
            return {}
        n = max(self._critic_steps, 1)
        return {**{k: v / n for k, v in self._sums.items()}, **self._generator}


def finish(record: dict[str, float]) -> dict[str, float]:
    """A step's numbers with the mean within-batch variances turned into spreads (standard deviations)."""
    return {SPREADS.get(k, k): max(v, 0.0) ** 0.5 if k in SPREADS else v for k, v in record.items()}

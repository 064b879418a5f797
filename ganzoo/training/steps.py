"""One generator step of training, phase by phase, in the order stylegan2-ada's ``loss.py`` reads:

- critic phase, ``n_critic`` times: scores -> loss -> penalty -> update -> after-step (the constraint's);
- generator phase, once: scores -> loss -> update -> after-step (the EMA).

The loss and the constraint are objects that know their phase (:class:`ganzoo.Loss`,
:class:`ganzoo.Constraint`). What else a step needs is a part it calls, not lines woven into it:
the fused critic pass (:mod:`~ganzoo.training.speed`), autocast (:mod:`~ganzoo.training.precision`),
the NaN/Inf guard (:mod:`~ganzoo.training.guard`: ``screen`` and ``end_update``), inside
:meth:`Steps.update` gradient averaging over ranks (:mod:`~ganzoo.training.distributed`), and the
evidence ``ganzoo doctor`` reads (:mod:`~ganzoo.training.diagnostics`: after each critic step, and
around the generator's update, on the steps ``train.diag_every`` picks).
The labels of the last critic batch pass to the generator phase as an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import nn

from ganzoo.components import Constraint, Critic, Generator, Loss
from ganzoo import ranks
from ganzoo.training import distributed, speed
from ganzoo.training.batches import Batches
from ganzoo.training.diagnostics import Evidence
from ganzoo.training.ema import EMA
from ganzoo.training.guard import NonFiniteGuard
from ganzoo.training.precision import Precision


class Batch(NamedTuple):
    """Real images (B, C, H, W) and their labels (B,): the generator phase makes fakes for these labels."""

    real: torch.Tensor
    labels: torch.Tensor


@dataclass
class Update:
    """A network and its optimiser: what :meth:`Steps.update` steps."""

    name: str  # "critic" or "generator": the guard's and the precision's name for it
    module: nn.Module
    optimizer: torch.optim.Optimizer
    params: list[nn.Parameter] = field(init=False)

    def __post_init__(self) -> None:
        self.params = list(self.module.parameters())


@dataclass
class Steps:
    critic: Critic
    generator: Generator
    loss: Loss
    constraint: Constraint
    critic_update: Update
    generator_update: Update
    batches: Batches
    precision: Precision
    guard: NonFiniteGuard
    n_critic: int
    fused: bool  # train.fused, where the critic allows it (speed.can_fuse)
    ema: EMA | None = None
    evidence: Evidence | None = None  # what ganzoo doctor reads (train.diag_every; None: never)
    critic_steps: int = 0  # critic updates so far (the penalty's interval counts these)

    def noise(self, n: int) -> torch.Tensor:
        """(n, z_dim) noise for this rank's shard, drawn for the global batch (the same on every rank)."""
        device = self.batches.images.device
        return ranks.shard_draw(torch.randn, (n, self.generator.z_dim), device=device)  # (n, z)

    def fake_batch(self, labels: torch.Tensor) -> torch.Tensor:
        """Generated images for ``labels``, without a graph: the critic phase does not train the generator."""
        z = self.noise(labels.shape[0])
        with torch.no_grad(), self.precision.autocast():
            return self.generator(z, labels).float().contiguous()  # (B, C, H, W), the critic's memory format

    def update(self, net: Update, loss: torch.Tensor, n: int) -> None:
        """One optimiser update of ``net`` on ``loss``: gradients for its own parameters only, averaged
        over ranks, screened for NaN/Inf (``n`` numbers the update for the guard), then the optimiser
        step (which fp16's scaler skips on overflow)."""
        net.optimizer.zero_grad(set_to_none=True)
        self.precision.backward_step(
            net.name,
            loss,
            net.optimizer,
            net.params,
            before_step=lambda: distributed.average_gradients(net.module),
            check_grads=lambda: self.guard.screen_grads(f"{net.name}_grad", n, net.params),
        )

    # -- the critic phase ------------------------------------------------------------------------
    def critic_phase(self) -> tuple[dict[str, torch.Tensor], Batch]:
        """``n_critic`` critic updates; their mean statistics, and the last real batch."""
        if self.evidence is not None:
            self.evidence.begin(self.critic_steps // self.n_critic)  # generator steps done so far
        sums = {k: torch.zeros((), device=self.batches.images.device) for k in ("loss_d", "wasserstein", "penalty")}
        for _ in range(self.n_critic):
            real, labels = self.batches.next()
            for k, v in self.critic_step(real, self.fake_batch(labels), labels).items():
                sums[k] += v
        return {k: v / self.n_critic for k, v in sums.items()}, Batch(real, labels)

    def critic_step(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor, constrain: bool = True) -> dict[str, torch.Tensor]:
        """One critic update. ``constrain=False`` skips the Lipschitz constraint (``ganzoo bench`` prices it so)."""
        n = self.critic_steps + 1
        with self.precision.autocast():
            real_s, fake_s = speed.critic_scores(self.critic, real, fake, labels, self.fused)  # scores: (B,), (B,)
            loss = self.guard.screen("loss_d", n, self.loss.critic_loss(real_s.float(), fake_s.float()))  # loss
            penalty = None
            if constrain:  # penalty
                with self.precision.penalty_scale("critic"):
                    penalty = self.constraint.penalty(self.critic, real, fake, labels, self.critic_steps)
                penalty = None if penalty is None else self.guard.screen("penalty", n, penalty)
            total = loss if penalty is None else loss + penalty
        self.update(self.critic_update, total, n)  # update
        if constrain:
            self.constraint.after_critic_step(self.critic)  # after-step (weight clipping)
        self.critic_steps = n
        self.guard.end_update("critic_step", n)
        if self.evidence is not None:  # scores, gradients and weights as this step left them
            self.evidence.critic_step(real_s, fake_s, loss, penalty)
        wasserstein = real_s.float().mean() - fake_s.float().mean()
        return {
            "loss_d": total.detach(),
            "wasserstein": wasserstein.detach(),
            "penalty": torch.zeros_like(total).detach() if penalty is None else penalty.detach(),
        }

    # -- the generator phase ---------------------------------------------------------------------
    def generator_phase(self, batch: Batch, step: int) -> torch.Tensor:
        """One generator update for the labels of ``batch`` (the critic phase's last batch); ``step``
        generator steps are done before it. Returns the generator loss."""
        labels = batch.labels
        z = self.noise(labels.shape[0])
        with self.precision.autocast():
            scores = self.critic(self.generator(z, labels), labels).float()  # (B,): the critic gets no update
            if self.loss.pairs_real_and_fake:  # relativistic: fake i is paired with real i (same label)
                with torch.no_grad():
                    real_scores = self.critic(batch.real, labels).float()  # (B,)
                loss = self.loss.generator_loss(scores, real_scores)
            else:
                loss = self.loss.generator_loss(scores)
            loss = self.guard.screen("loss_g", step + 1, loss)
        if self.evidence is not None:
            self.evidence.before_generator_update()
        self.update(self.generator_update, loss, step + 1)
        if self.evidence is not None:  # the generator's gradients and the size of its update
            self.evidence.after_generator_update()
        if self.ema is not None:
            self.ema.update(self.generator, step)  # after-step
        self.guard.end_update("generator_step", step + 1)
        return loss.detach()

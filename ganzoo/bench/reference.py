"""The reference loop: the seed notes' WGAN-GP training loop, written the straightforward way.

It follows the code in ``shared/seed/wgan-improvements.md``, and is what ``ganzoo bench
--vs-reference`` measures the engine against:

- in every critic step the generator's forward pass builds a graph (``x_fake = G(z, labels)``),
  and the critic sees ``x_fake.detach()``;
- the critic makes separate passes over the fake, the real and the interpolated images;
- ``requires_grad`` of the critic's weights is toggled by hand around the generator step;
- everything is fp32 in PyTorch's default (contiguous) memory format, and each upsampling layer
  builds the upsampled map and convolves it (no sub-pixel path, see :mod:`ganzoo.layers`).

It lives in the engine package rather than in ``benchmarks/`` because the installed ``ganzoo bench``
command imports it; the ``benchmarks/`` suites time it from here. To compare the same maths, it
takes the engine's batches (:class:`ganzoo.training.batches.Batches`) and draws its random numbers in the
engine's order: the noise, then the generator's dropout, then the interpolation weights (on the
device, where the notes draw them on the CPU and move them).
"""

from __future__ import annotations

import copy

import torch

from ganzoo.errors import ConfigError
from ganzoo.layers import set_fast
from ganzoo.registry.config import TrainConfig
from ganzoo.training.batches import Batches


def gradient_penalty(critic, real_data, fake_data, labels, penalty, device):
    """The seed notes' gradient penalty, kept as written there (alpha drawn on ``device``)."""
    n_elements = real_data.nelement()
    batch_size = real_data.size()[0]
    colors = real_data.size()[1]
    image_width = real_data.size()[2]
    image_height = real_data.size()[3]
    alpha = torch.rand(batch_size, 1, device=device).expand(batch_size, int(n_elements / batch_size)).contiguous()
    alpha = alpha.view(batch_size, colors, image_width, image_height)

    interpolates = alpha * real_data.detach() + ((1 - alpha) * fake_data.detach())
    interpolates = interpolates.to(device)
    interpolates.requires_grad_(True)
    critic_interpolates = critic(interpolates, labels)

    gradients = torch.autograd.grad(
        outputs=critic_interpolates,
        inputs=interpolates,
        grad_outputs=torch.ones(critic_interpolates.size()).to(device),
        create_graph=True,
        retain_graph=True,
        only_inputs=True,
    )[0]

    gradients = gradients.view(gradients.size(0), -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean() * penalty


class ReferenceLoop:
    """One generator step at a time: ``n_critic`` critic steps with the penalty, then a generator step."""

    def __init__(self, critic, generator, batches, train: TrainConfig, penalty: float, device: torch.device):
        self.model_D, self.model_G, self.batches = critic, generator, batches
        self.train, self.penalty, self.device = train, penalty, device
        self.optimizer_D = torch.optim.Adam(critic.parameters(), lr=train.lr_d, betas=train.betas)
        self.optimizer_G = torch.optim.Adam(generator.parameters(), lr=train.lr_g, betas=train.betas)

    @classmethod
    def like(cls, trainer) -> "ReferenceLoop":
        """A reference loop with copies of a trainer's networks (call before the trainer trains) and data order."""
        cfg = trainer.cfg
        constraint, loss = cfg.components["constraint"], cfg.components["loss"]
        if constraint[0] != "gp" or loss[0] != "wasserstein" or getattr(constraint[1], "interval", 1) != 1:
            raise ConfigError(
                "--vs-reference compares against the seed notes' loop, which trains with loss=wasserstein and "
                f"constraint=gp (constraint.interval=1); this configuration has loss={loss[0]} and constraint={constraint[0]}. "
                "Drop those overrides (the seed preset sets them)."
            )
        if cfg.train.precision != "fp32":
            raise ConfigError(f"--vs-reference compares fp32 maths, but train.precision={cfg.train.precision}. Drop that override.")
        critic = copy.deepcopy(trainer.critic).to(memory_format=torch.contiguous_format)
        generator = copy.deepcopy(trainer.generator).to(memory_format=torch.contiguous_format)
        set_fast(generator, False)
        batches = Batches(trainer.data, cfg.train.batch_size, trainer.device, cfg.seed)
        return cls(critic, generator, batches, cfg.train, float(constraint[1].weight), trainer.device)

    def step(self) -> dict[str, torch.Tensor]:
        model_D, model_G = self.model_D, self.model_G
        sums = {"loss_d": 0.0, "wasserstein": 0.0, "penalty": 0.0}
        for n in range(self.train.n_critic):
            x, labels = self.batches.next()
            z = torch.randn(x.size(0), model_G.z_dim, device=self.device)
            x_fake = model_G.forward(z, labels)
            for param in model_D.parameters():
                param.requires_grad = True
            y_fake = model_D.forward(x_fake.detach(), labels)
            y_real = model_D.forward(x, labels)

            penalty = gradient_penalty(
                critic=model_D, real_data=x, fake_data=x_fake, labels=labels, penalty=self.penalty, device=self.device
            )

            loss_D = torch.mean(y_fake) - torch.mean(y_real) + penalty
            loss_D.backward()
            self.optimizer_D.step()
            self.optimizer_D.zero_grad()
            sums["loss_d"] += loss_D.detach()
            sums["wasserstein"] += (torch.mean(y_real) - torch.mean(y_fake)).detach()
            sums["penalty"] += penalty.detach()

        for param in model_D.parameters():
            param.requires_grad = False
        z = torch.randn(labels.size(0), model_G.z_dim, device=self.device)
        x_fake = model_G.forward(z, labels)
        loss_G = -torch.mean(model_D.forward(x_fake, labels))
        loss_G.backward()
        self.optimizer_G.step()
        self.optimizer_G.zero_grad()
        out = {k: v / self.train.n_critic for k, v in sums.items()}
        out["loss_g"] = loss_G.detach()
        return out

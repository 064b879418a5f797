"""ganzoo's training step against torchgan 0.1.0's, on the same network (pytest-benchmark).

    pip install --no-deps torchgan==0.1.0     # this file skips itself without it
    python -m pytest benchmarks/test_torchgan.py --benchmark-only -s

The network is torchgan's ``DCGANGenerator`` (BatchNorm) and ``DCGANDiscriminator`` (without
BatchNorm, since the gradient penalty is per sample) at 32x32x1, rebuilt below as ganzoo plugins from
torchgan's published layer list (``tg_dcgan``; 1,066,881 and 660,929 parameters). The test first
copies torchgan's weights into them and checks that both compute the same images and scores.

The loss is WGAN-GP (weight 10), 5 critic steps per generator step, batch 64, Adam 1e-4 with betas
(0.5, 0.9) on both sides. torchgan's side is its own code: the ``train_ops`` of its
``WassersteinDiscriminatorLoss``, ``WassersteinGradientPenalty`` and ``WassersteinGeneratorLoss``,
called in the order its ``Trainer.train_iter`` calls them (without its logger). torchgan takes the
penalty as a separate critic update on a freshly generated batch, so it does more arithmetic per
generator step; the comparison is therefore per FLOP as well as per image: each side's FLOPs per
generator step are counted on one step as ``ganzoo bench`` counts them (``ganzoo.bench.flops.count_flops``), and the
rounds alternate between the two sides in one process.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ganzoo
from ganzoo.bench.flops import count_flops, matmul_peak
from ganzoo.bench.timing import alternate
from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost
from ganzoo.training.loop import Trainer

tg_models = pytest.importorskip("torchgan.models")
tg_losses = pytest.importorskip("torchgan.losses")

BATCH, N_CRITIC, ROUNDS = 64, 5, 5


class TgGenerator(ganzoo.Generator):
    """torchgan's DCGANGenerator: a 1x1 noise map, transposed 4x4 convs doubling the map and halving
    the channels (BatchNorm, LeakyReLU 0.2, no bias), a last transposed conv to the image, tanh."""

    name = "tg_dcgan"
    description = "torchgan 0.1.0's DCGANGenerator, for the side-by-side benchmark"

    class Config(ganzoo.Config):
        z_dim: int = 100
        step_channels: int = 64

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        repeats = spec.size.bit_length() - 4  # 32 -> 2: maps 1 -> 4 -> 8 -> 16 -> 32
        d = cfg.step_channels * 2**repeats
        layers: list[nn.Module] = [nn.ConvTranspose2d(cfg.z_dim, d, 4, 1, 0, bias=False), nn.BatchNorm2d(d), nn.LeakyReLU(0.2)]
        for _ in range(repeats):
            layers += [nn.ConvTranspose2d(d, d // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(d // 2), nn.LeakyReLU(0.2)]
            d //= 2
        layers += [nn.ConvTranspose2d(d, spec.channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z, labels):
        return self.net(z[:, :, None, None])  # (N, z) -> (N, z, 1, 1) -> (N, C, S, S)


class TgCritic(ganzoo.Critic):
    """torchgan's DCGANDiscriminator with batchnorm=False: strided 4x4 convs doubling the channels
    (LeakyReLU 0.2, with bias), then a 4x4 conv to one score and a last LeakyReLU."""

    name = "tg_dcgan"
    description = "torchgan 0.1.0's DCGANDiscriminator (batchnorm=False), for the side-by-side benchmark"

    class Config(ganzoo.Config):
        step_channels: int = 64

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        repeats = spec.size.bit_length() - 4
        d = cfg.step_channels
        layers: list[nn.Module] = [nn.Conv2d(spec.channels, d, 4, 2, 1), nn.LeakyReLU(0.2)]
        for _ in range(repeats):
            layers += [nn.Conv2d(d, 2 * d, 4, 2, 1), nn.LeakyReLU(0.2)]
            d *= 2
        layers += [nn.Conv2d(d, 1, 4, 1, 0), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers)

    def forward(self, x, labels):
        return self.net(x).flatten()  # (N, 1, 1, 1) -> (N,)


class Plugin:
    @staticmethod
    @ganzoo.hookimpl
    def register_critics(register):
        register(TgCritic)

    @staticmethod
    @ganzoo.hookimpl
    def register_generators(register):
        register(TgGenerator)


OVERRIDES = [
    "critic=tg_dcgan", "generator=tg_dcgan", "constraint=gp", "constraint.weight=10", "loss=wasserstein",
    "data=synthetic", "data.size=32", "data.channels=1", "data.n=1024", f"train.batch_size={BATCH}",
    f"train.n_critic={N_CRITIC}", "train.lr_d=1e-4", "train.lr_g=1e-4", "train.betas=[0.5,0.9]", "train.ema=0",
    "train.progress=false", "train.precision=fp32",
]


class Torchgan:
    """torchgan's side: its models, optimisers and losses; ``step()`` is one generator step."""

    def __init__(self, data: torch.Tensor):
        self.g = tg_models.DCGANGenerator(encoding_dims=100, out_size=32, out_channels=1)
        self.d = tg_models.DCGANDiscriminator(in_size=32, in_channels=1, batchnorm=False)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=1e-4, betas=(0.5, 0.9))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=1e-4, betas=(0.5, 0.9))
        self.d_loss, self.gp = tg_losses.WassersteinDiscriminatorLoss(), tg_losses.WassersteinGradientPenalty(lambd=10.0)
        self.g_loss = tg_losses.WassersteinGeneratorLoss()
        self.data, self.at = data, 0

    def batch(self) -> torch.Tensor:
        if self.at + BATCH > len(self.data):
            self.at = 0
        self.at += BATCH
        return self.data[self.at - BATCH:self.at]

    def step(self) -> None:
        cpu = torch.device("cpu")
        for i in range(N_CRITIC):  # Trainer.train_iter: per batch the critic losses; the generator's every ncritic
            real = self.batch()
            self.d_loss.train_ops(self.g, self.d, self.opt_d, real, cpu)
            self.gp.train_ops(self.g, self.d, self.opt_d, real, cpu)
        self.g_loss.train_ops(self.g, self.d, self.opt_g, cpu, BATCH)


def _copy(src: nn.Module, dst: nn.Module) -> None:
    """torchgan's parameters and buffers into ours, in layer order (its discriminator registers its
    last conv, ``disc``, before the others)."""
    parts = [src.model, *([src.disc] if hasattr(src, "disc") else [])]
    with torch.no_grad():
        theirs = [*(p for m in parts for p in m.parameters()), *(b for m in parts for b in m.buffers())]
        for a, b in zip(theirs, [*dst.parameters(), *dst.buffers()], strict=True):
            assert a.shape == b.shape
            b.copy_(a)


def test_ganzoo_vs_torchgan_per_image_and_per_flop(benchmark):
    torch.manual_seed(0)
    host = PluginHost(entry_points=[])
    host.register(Plugin(), name="torchgan-network")
    cfg = resolve([*OVERRIDES, "train.subpixel=false", "train.channels_last=false"], host)
    ours = Trainer(cfg, host)
    theirs = Torchgan(ours.data.images.float() if ours.data.images.dtype == torch.uint8 else ours.data.images)

    # the same network: parameter counts, and the same outputs from the same weights
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert (count(ours.generator), count(ours.critic)) == (count(theirs.g), count(theirs.d)) == (1_066_881, 660_929)
    _copy(theirs.g, ours.generator)
    _copy(theirs.d, ours.critic)
    z = torch.randn(8, 100)
    with torch.no_grad():
        ours.generator.eval(), theirs.g.eval()
        images = theirs.g(z)
        assert torch.equal(ours.generator(z, torch.zeros(8, dtype=torch.long)), images)
        assert torch.equal(ours.critic(images, torch.zeros(8, dtype=torch.long)), theirs.d(images))
    ours.generator.train(), theirs.g.train()

    def ganzoo_step():
        ours.record(ours.one_step(None))  # as ganzoo run: guard, step, evidence, the line read back

    flops = {"ganzoo": float(count_flops(ganzoo_step)), "torchgan": float(count_flops(theirs.step))}
    stats = alternate({"ganzoo": ganzoo_step, "torchgan": theirs.step}, torch.device("cpu"), warmup=1, rounds=ROUNDS)
    peak = matmul_peak(torch.device("cpu"))["gflops"]
    rows = {}
    for name in stats:
        s = stats[name].median
        rows[name] = {"s_per_step": s, "real_images_per_s": BATCH * N_CRITIC / s, "gflop_per_step": flops[name] / 1e9,
                      "gflops": flops[name] / 1e9 / s, "share_of_peak": flops[name] / 1e9 / s / peak}
    ratio = {k: rows["ganzoo"][k] / rows["torchgan"][k] for k in ("real_images_per_s", "gflop_per_step", "gflops")}
    print(f"\nmatmul peak {peak:.1f} GFLOP/s, {torch.get_num_threads()} threads, {ROUNDS} alternating rounds (median, ganzoo.bench.timing.alternate)")
    for name, r in rows.items():
        print(f"{name:9s} {r['s_per_step'] * 1000:8.1f} ms/step  {r['real_images_per_s']:7.1f} real images/s  "
              f"{r['gflop_per_step']:6.1f} GFLOP/step  {r['gflops']:6.1f} GFLOP/s ({r['share_of_peak']:.0%} of peak)")
    print("ganzoo / torchgan: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratio.items()))
    benchmark.extra_info.update(rows=rows, ratio=ratio, matmul_peak=peak)
    assert flops["torchgan"] > flops["ganzoo"]  # its separate penalty update regenerates a fake batch
    benchmark.pedantic(ganzoo_step, rounds=3, warmup_rounds=0)

"""Speed settings: each is a ``train.*`` option that ``ganzoo bench --matrix`` can measure, and each
keeps a test that it computes the same maths as the plain path.

- ``train.subpixel``: the generator's "nearest x2, then 3x3 conv" layers as four 2x2 convs on the
  small map (:class:`ganzoo.layers.UpsampleConv`);
- ``train.channels_last``: the generator in channels-last memory format;
- ``train.compile``: ``torch.compile`` of both networks (refused with a double-backward penalty);
- ``train.fused``: one critic pass over real and fake images together (:func:`critic_scores`).

And one that is always on: :func:`adam`, the optimisers' fused kernel.

``train.precision`` (autocast) lives in :mod:`ganzoo.training.precision`.
"""

from __future__ import annotations

import torch

from ganzoo.components import Critic
from ganzoo.layers import is_batch_coupled
from ganzoo.errors import ConfigError
from ganzoo.layers import set_fast
from ganzoo.registry.build import Models
from ganzoo.registry.config import TrainConfig

# torch.compile backend; tests may swap in "aot_eager" (graph capture and AOTAutograd without C++ codegen).
COMPILE_BACKEND = "inductor"


def check_compile(models: Models, train: TrainConfig) -> None:
    """Refuse ``train.compile=true`` when the constraint differentiates a gradient (double backward)."""
    constraint = models.constraint
    if train.compile and constraint.double_backward:
        raise ConfigError(
            f"train.compile=true cannot be used with constraint '{constraint.name}': its penalty differentiates the "
            "critic's input gradient (double backward), which torch.compile does not support, and the gradients "
            "could be silently wrong. Use train.compile=false with this constraint, or a constraint without a "
            "gradient penalty (constraint=clip or constraint=none) with train.compile=true."
        )


def prepare(models: Models, train: TrainConfig) -> None:
    """Apply sub-pixel upsampling and channels-last (generator) and compile (both networks), in place;
    state_dict keys are unchanged.

    Channels-last goes to the generator only: its convolutions dominate the cost and run faster
    in it, while a critic's per-sample norm over (C, H, W) makes contiguous copies of its input,
    which made the seed critic slower in channels-last when measured.
    """
    check_compile(models, train)
    set_fast(models.generator, train.subpixel)  # ganzoo.layers.UpsampleConv: sub-pixel or plain path
    if train.channels_last:
        models.generator.to(memory_format=torch.channels_last)  # 4-D weights; conv outputs follow them
    for net in (models.critic, models.generator):
        if train.compile:
            net.compile(backend=COMPILE_BACKEND)


# -- train.fused ---------------------------------------------------------------------------------
# A critic without batch-coupled layers (ganzoo.is_batch_coupled) scores each image on its own, so
# scoring cat(real, fake) in one pass gives the same scores as two passes, with one forward and one
# backward over a batch of 2N instead of two of N. A batch-coupled critic (BatchNorm) would see
# other batch statistics, so it always gets two passes. The penalty's interpolated points keep their
# own pass: their input gradient is taken with a graph, and over a fused batch that first backward
# (and the double backward after it) would run over all 3N images instead of N; `ganzoo bench`
# measured that slower on a CPU.


def adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam with torch's fused kernel where it has one for these tensors (floating point, on CPU or
    CUDA): one kernel over all parameters instead of a loop of small ops per tensor. The same
    update rule (``tests/training/test_speed.py`` checks it against the plain loop); on the 2-core CPU the
    optimiser step took 0.09 instead of 0.27 ms for the default critic, 0.6% of a training step."""
    params = list(params)
    fused = bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=True if fused else None)


def can_fuse(critic: Critic) -> bool:
    """True when one pass over real and fake images together gives the same scores as two passes."""
    return not is_batch_coupled(critic)


def critic_scores(
    critic: Critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor, fused: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores (N,) of ``real`` and of ``fake`` (both (N, C, H, W), same ``labels``)."""
    if not fused:
        return critic(real, labels), critic(fake, labels)
    n = real.shape[0]
    scores = critic(torch.cat((real, fake)), torch.cat((labels, labels)))  # (2N,)
    return scores[:n], scores[n:]

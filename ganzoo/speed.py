"""Speed settings applied to the networks when a trainer is built: sub-pixel upsampling convolutions,
channels-last and torch.compile.

Each is a ``train.*`` option, so ``ganzoo bench --matrix train.channels_last=true,false`` measures it.
"""

from __future__ import annotations

import torch

from ganzoo.build import Models
from ganzoo.config import TrainConfig
from ganzoo.errors import ConfigError
from ganzoo.layers import set_fast

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

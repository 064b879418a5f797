"""``train.precision``: fp32, or mixed precision under autocast (bf16, or fp16 with gradient scaling).

fp16 follows the PyTorch AMP recipe for gradient penalties: each optimiser gets a ``GradScaler``;
the penalty's input gradient is taken on scaled scores and unscaled before the penalty is formed
(:func:`ganzoo.penalties.scaled_input_gradients`); the total loss is scaled for the backward pass
and the scaler skips a step whose gradients overflowed. bf16 has fp32's range and needs no scaler.
fp32 adds nothing: no autocast, no scaling, the same maths as without this module.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, ContextManager, Iterable

import torch

from ganzoo.errors import ConfigError
from ganzoo.penalties import scaled_input_gradients

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    """Autocast and loss scaling for one run. ``names`` are the optimisers it scales (fp16 only)."""

    def __init__(self, mode: str, device: torch.device, names: Iterable[str] = ("critic", "generator"), strict: bool = True):
        if mode not in ("fp32", *DTYPES):
            raise ConfigError(f"Unknown train.precision '{mode}'. Valid choices: fp32, bf16, fp16.")
        if strict and mode == "fp16" and device.type != "cuda":
            raise ConfigError(
                f"train.precision=fp16 needs a CUDA GPU, and this run is on {device.type}: fp16 trains with a "
                "gradient scaler and CPUs have no fast float16 convolutions. Use train.precision=bf16 (autocast to "
                "bfloat16, correct on a CPU though fast only on CPUs with bf16 units) or fp32 here."
            )
        self.mode, self.device = mode, device
        self.dtype = DTYPES.get(mode)
        self.scalers = {n: torch.amp.GradScaler(device.type) for n in names} if mode == "fp16" else {}

    def autocast(self) -> ContextManager[Any]:
        """Wrap forward passes and losses (never backward passes) in this."""
        return nullcontext() if self.dtype is None else torch.autocast(self.device.type, dtype=self.dtype)

    def penalty_scale(self, name: str) -> ContextManager[Any]:
        """Wrap a penalty's computation: under fp16 its input gradients are taken on scaled scores."""
        scaler = self.scalers.get(name)
        return nullcontext() if scaler is None else scaled_input_gradients(scaler.get_scale())

    def backward_step(self, name: str, loss: torch.Tensor, optimizer: torch.optim.Optimizer, params: list[torch.Tensor], before_step=None, check_grads=None) -> None:
        """Gradients of ``loss`` for ``params`` only, then the optimiser step (skipped by the scaler on overflow).

        ``before_step()`` (gradient averaging across ranks) runs between the backward pass and the
        step; ``check_grads()`` then too, but without a scaler only: with fp16's scaler, overflowing
        gradients are expected and the scaler itself skips that step."""
        scaler = self.scalers.get(name)
        if scaler is None:
            loss.backward(inputs=params)
            if before_step is not None:
                before_step()
            if check_grads is not None:
                check_grads()
            optimizer.step()
            return
        scaler.scale(loss).backward(inputs=params)
        if before_step is not None:
            before_step()
        scaler.step(optimizer)
        scaler.update()

    def state_dict(self) -> dict[str, dict[str, Any]]:
        return {n: s.state_dict() for n, s in self.scalers.items()}

    def load_state_dict(self, state: dict[str, dict[str, Any]]) -> None:
        for n, s in self.scalers.items():
            if n in state:
                s.load_state_dict(state[n])

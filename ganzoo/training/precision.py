"""``train.precision``: fp32, or mixed precision under autocast (bf16, or fp16 with gradient scaling),
or ``auto``: bf16 where the hardware computes it natively (:func:`native_bf16`), fp32 elsewhere.

fp16 follows the PyTorch AMP recipe for gradient penalties: each optimiser gets a ``GradScaler``;
the penalty's input gradient is taken on scaled scores and unscaled before the penalty is formed
(:func:`ganzoo.penalties.scaled_input_gradients`); the total loss is scaled for the backward pass
and the scaler skips a step whose gradients overflowed. bf16 has fp32's range and needs no scaler.
fp32 adds nothing: no autocast, no scaling, the same maths as without this module.

Penalties keep their gradient norms in fp32: under bf16 the penalty's critic pass and its input
gradient run outside autocast (the networks' ordinary passes stay in bf16).
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any, ContextManager, Iterable

import torch

from ganzoo.errors import ConfigError
from ganzoo.penalties import scaled_input_gradients

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
MODES = ("auto", "fp32", *DTYPES)


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            return {w for line in f if line.startswith("flags") for w in line.split(":", 1)[1].split()}
    except OSError:
        return set()


def native_bf16(device: torch.device) -> str | None:
    """Why this device computes bfloat16 natively ("CUDA with bf16", "the CPU's avx512_bf16"...), or None."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} computes bf16" if torch.cuda.is_bf16_supported() else None
    if device.type != "cpu":
        return None
    checks = (
        ("amx_bf16", getattr(torch.cpu, "_is_amx_tile_supported", None)),
        ("avx512_bf16", getattr(torch.cpu, "_is_avx512_bf16_supported", None)),
    )
    flags = _cpu_flags()
    for name, check in checks:
        try:
            found = bool(check()) if check is not None else name in flags
        except Exception:
            found = name in flags
        if found:
            return f"this CPU has {name}"
    return None


def resolve(mode: str, device: torch.device) -> tuple[str, str]:
    """(the mode to use, why): ``auto`` picks bf16 where the device computes it natively, else fp32."""
    if mode != "auto":
        return mode, ""
    why = native_bf16(device)
    return (
        ("bf16", f"train.precision=auto: bf16, because {why}")
        if why
        else ("fp32", f"train.precision=auto: fp32, because this {device.type} has no native bf16")
    )


class Precision:
    """Autocast and loss scaling for one run. ``names`` are the optimisers it scales (fp16 only)."""

    def __init__(self, mode: str, device: torch.device, names: Iterable[str] = ("critic", "generator"), strict: bool = True):
        if mode not in MODES:
            raise ConfigError(f"Unknown train.precision '{mode}'. Valid choices: {', '.join(MODES)}.")
        self.requested = mode
        mode, self.reason = resolve(mode, device)
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
        """Wrap a penalty's computation: under fp16 its input gradients are taken on scaled scores;
        under bf16 it runs outside autocast, in fp32."""
        scaler = self.scalers.get(name)
        if scaler is not None:
            return scaled_input_gradients(scaler.get_scale())
        if self.mode == "bf16":
            return torch.autocast(self.device.type, enabled=False)
        return nullcontext()

    def backward_step(
        self,
        name: str,
        loss: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        params: list[torch.Tensor],
        before_step=None,
        check_grads=None,
    ) -> None:
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

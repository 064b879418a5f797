"""Faults no configuration option can make, for the doctor's corpus (``benchmarks/doctor_corpus.py``):
one variable, ``GANZOO_CORPUS_FAULT=NAME[:FACTOR]``, read when the trainer is built. Unset (always,
outside the corpus and its tests) nothing changes; set, the run notes it as a warning.

- ``dead_critic``: the critic's output is multiplied by 0 (a forward hook): it scores every image 0,
  as a critic whose last layer died would;
- ``saturated_generator[:K]``: the input of the generator's last ``nn.Tanh`` is multiplied by K
  (default 30), so its output sits at ±1 and passes almost no gradient (generators whose tanh is a
  function call, such as ``mlp``, are refused);
- ``raw_pixels``: the real images reach the critic in 0..255 instead of the [-1, 1] the generator's
  tanh produces (data not normalised the way the model expects).
"""

from __future__ import annotations

import os

from torch import nn

from ganzoo.errors import ConfigError
from ganzoo.imagedata import ImageData

ENV = "GANZOO_CORPUS_FAULT"
NAMES = ("dead_critic", "saturated_generator", "raw_pixels")


def active() -> tuple[str, float] | None:
    """(name, factor) of the fault the environment names, or None; one paragraph for a bad value."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return None
    name, _, factor = text.partition(":")
    if name not in NAMES:
        raise ConfigError(f"{ENV}={text!r}: {name!r} is not one of {', '.join(NAMES)} (the form is NAME[:FACTOR]).")
    try:
        value = float(factor) if factor else 30.0
    except ValueError:
        raise ConfigError(f"{ENV}={text!r}: the factor {factor!r} is not a number.") from None
    return name, value


def apply_to_data(data: ImageData, fault: tuple[str, float] | None) -> ImageData:
    """``raw_pixels``: the images as float 0..255."""
    if fault is None or fault[0] != "raw_pixels":
        return data
    if data.streamed:
        raise ConfigError(f"{ENV}=raw_pixels works on a dataset held in memory.")
    return data.replace(images=(data.floats() + 1) * 127.5)


def apply_to_models(critic: nn.Module, generator: nn.Module, fault: tuple[str, float] | None) -> None:
    """``dead_critic`` and ``saturated_generator``, as forward hooks."""
    if fault is None:
        return
    name, factor = fault
    if name == "dead_critic":
        critic.register_forward_hook(lambda module, args, out: out * 0.0)
    elif name == "saturated_generator":
        tanhs = [m for m in generator.modules() if isinstance(m, nn.Tanh)]
        if not tanhs:
            raise ConfigError(f"{ENV}=saturated_generator needs a generator whose output is an nn.Tanh layer (dcgan, resnet).")
        tanhs[-1].register_forward_pre_hook(lambda module, args: (args[0] * factor,))


def describe(fault: tuple[str, float] | None) -> str | None:
    if fault is None:
        return None
    return f"{ENV}={fault[0]}" + (f":{fault[1]:g}" if fault[0] == "saturated_generator" else "") + ": a fault injected on purpose"

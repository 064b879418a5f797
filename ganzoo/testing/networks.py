"""Contract checks for networks: :func:`check_critic`, :func:`check_generator`, and the
combinations to run them over (:func:`network_cases`)."""

from __future__ import annotations

import copy
import itertools
import tempfile
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from ganzoo.components import DataSpec, Encoder, ref_fields
from ganzoo.layers import is_batch_coupled
from ganzoo.penalties import input_gradient_norms
from ganzoo.registry import compat
from ganzoo.registry.build import network
from ganzoo.registry.host import PluginHost

# Small values for common size options; a Config's own bounds (ge, multiple_of) win.
TINY = {"width": 2, "base": 2, "z_dim": 4, "depth": 1}


def tiny_options(cls: type, **overrides: Any) -> dict[str, Any]:
    """Options that make a network tiny: ``TINY`` values raised to each field's lower bound and
    rounded up to its ``multiple_of``; ``overrides`` are applied last."""
    out: dict[str, Any] = {}
    for name, info in cls.Config.model_fields.items():
        if name not in TINY:
            continue
        value = TINY[name]
        for m in info.metadata:
            if getattr(m, "ge", None) is not None:
                value = max(value, m.ge)
            if getattr(m, "gt", None) is not None:
                value = max(value, m.gt + 1)
            if getattr(m, "multiple_of", None):
                value = -(-value // m.multiple_of) * m.multiple_of
        out[name] = value
    return {**out, **overrides}


def network_cases(host: PluginHost, kind: str) -> list[tuple[str, str, str]]:
    """Every (network, normaliser, encoder) of ``kind`` ("critic" or "generator") that the rules
    allow together. A network without a ``norm``/``encoder`` choice gets ``""`` in that place."""
    cases = []
    for name, entry in sorted(host.components(kind).items()):
        norm_fields = ref_fields(entry.cls, "normaliser")
        enc_fields = ref_fields(entry.cls, "encoder")
        norms = sorted(host.components("normaliser")) if norm_fields else [""]
        encs = sorted(host.components("encoder")) if enc_fields else [""]
        for norm, enc in itertools.product(norms, encs):
            picks: dict[str, type] = {kind: entry.cls}
            picks.update({f"{kind}.{f}": host.get("normaliser", norm) for f in norm_fields})
            picks.update({f"{kind}.{f}": host.get("encoder", enc) for f in enc_fields})
            if not compat.problems(picks, host):
                cases.append((name, norm, enc))
    return cases


def _build(
    host: PluginHost,
    kind: str,
    name: str,
    spec: DataSpec,
    norm: str | None,
    encoder: str | None,
    options: dict | None,
    seed: int,
    deep: bool = False,
) -> nn.Module:
    cls = host.get(kind, name)
    opts = tiny_options(cls, **(options or {}))
    if deep:  # at DEEP_SIZE: size options of at least DEEP_WIDTH
        opts.update({k: max(int(v), DEEP_WIDTH) for k, v in opts.items() if k in ("width", "base")})
    for field in ref_fields(cls, "normaliser"):
        if norm:
            opts[field] = norm
    for field in ref_fields(cls, "encoder"):
        if encoder:
            opts[field] = encoder
    torch.manual_seed(seed)
    return network(host, kind, name, cls.Config(**opts), spec)


DEEP_SIZE = 32  # deep enough that every built-in network builds all its kinds of layers
DEEP_WIDTH = 4  # at that depth two channels can leave every ReLU of a tiny plain network dead


def _shapes(channels: Iterable[int], size: int | None) -> list[tuple[int, int]]:
    """(channels, size) pairs to check: every channel count at 8x8, the first again at 32x32."""
    channels = list(channels)
    if size is not None:
        return [(c, size) for c in channels]
    return [(c, 8) for c in channels] + [(channels[0], DEEP_SIZE)]


def _picked(host: PluginHost, module: nn.Module, kind: str) -> list[type]:
    """The classes of the ``kind`` components a built network's config picks."""
    return [host.get(kind, getattr(module.cfg, f)) for f in ref_fields(type(module), kind)]


def safetensors_round_trip(module: nn.Module, fresh: nn.Module, *inputs: torch.Tensor) -> None:
    """Save ``module``'s state to a safetensors file, load it into ``fresh`` (same architecture,
    other weights) and check that both give the same outputs in eval mode."""
    from safetensors.torch import load_file, save_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "weights.safetensors"
        save_file({k: v.detach().contiguous() for k, v in module.state_dict().items()}, str(path))
        missing, unexpected = fresh.load_state_dict(load_file(str(path)), strict=True)
    assert not missing and not unexpected
    module.eval(), fresh.eval()
    with torch.no_grad():
        a, b = module(*inputs), fresh(*inputs)
    assert torch.equal(a, b), f"{type(module).__name__}: outputs differ after a safetensors save/load round trip"


def _perturbed(module: nn.Module, seed: int = 1) -> nn.Module:
    """A copy with noise on every parameter, so label embeddings that start neutral (cbn) matter."""
    out = copy.deepcopy(module)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in out.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=g))
    return out.eval()


def _check_conditioning(what: str, module: nn.Module, first: torch.Tensor, labels: torch.Tensor, num_classes: int) -> None:
    """Outputs depend on the labels iff an encoder conditions. Tiny networks can have every ReLU
    dead for one draw of weights, so dependence is looked for under a few perturbations."""
    encoders = [m for m in module.modules() if isinstance(m, Encoder)]
    if num_classes < 2 or not encoders:
        return
    conditions = any(e.mode != "channel" or e.channels > 0 for e in encoders)
    other = (labels + 1) % num_classes
    differs = []
    for seed in range(1, 6):
        probe = _perturbed(module, seed)
        with torch.no_grad():
            differs.append(not torch.equal(probe(first, labels), probe(first, other)))
        if conditions and differs[-1]:
            return
    if conditions:
        raise AssertionError(f"{what}: the output does not depend on the labels")
    assert not any(differs), f"{what}: an unconditional encoder, yet the output depends on the labels"


def check_critic(
    host: PluginHost,
    name: str,
    *,
    norm: str | None = None,
    encoder: str | None = None,
    options: dict | None = None,
    channels: Iterable[int] = (1, 3),
    size: int | None = None,
    num_classes: int = 3,
    batch: int = 4,
) -> None:
    """The critic contract, for each channel count at 8x8, and for the first channel count again at
    32x32, where networks whose depth grows with the image size build every layer they have (or
    only at ``size`` when given):

    - ``(N, C, S, S), (N,) -> (N,)`` finite scores, also at batch size 1;
    - without a batch-coupled layer, each score depends only on its own sample, and the
      gradient-penalty double backward reaches every weight with finite values (with one, a
      plain backward does);
    - the scores depend on the labels exactly when the encoder conditions;
    - a safetensors save/load round trip gives the same scores.
    """
    for c, size in _shapes(channels, size):
        spec = DataSpec(c, size, num_classes)
        what = f"critic '{name}' (norm={norm}, encoder={encoder}, {c}x{size}x{size})"
        critic = _build(host, "critic", name, spec, norm, encoder, options, deep=size >= DEEP_SIZE, seed=0).train()
        x = torch.randn(batch, c, size, size)
        labels = torch.arange(batch) % num_classes
        out = critic(x, labels)
        assert out.shape == (batch,), f"{what}: expected scores of shape ({batch},), got {tuple(out.shape)}"
        assert torch.isfinite(out).all(), f"{what}: non-finite scores"
        coupled = is_batch_coupled(critic)  # its norm layers, a layer flagged batch_coupled, or the critic's own flag
        one = copy.deepcopy(critic).eval() if coupled else copy.deepcopy(critic)
        single = one(x[:1], labels[:1])
        assert single.shape == (1,) and torch.isfinite(single).all(), f"{what}: fails at batch size 1"
        if not coupled:
            whole = copy.deepcopy(critic)(x, labels)[:1]
            assert torch.allclose(single, whole, atol=1e-5, rtol=1e-4), (
                f"{what}: a sample's score depends on the rest of the batch, but nothing in the critic says it is batch-coupled: "
                "set batch_coupled = True on the layer that mixes samples (or on the critic class)"
            )
            critic.zero_grad(set_to_none=True)
            norms = input_gradient_norms(critic, x, labels)
            ((norms - 1.0) ** 2).mean().backward()
            weights = [(n, p) for n, p in critic.named_parameters() if p.dim() >= 2]
            for n, p in weights:
                assert p.grad is not None, f"{what}: the gradient penalty does not reach weight '{n}' (double backward)"
                assert torch.isfinite(p.grad).all(), f"{what}: non-finite penalty gradient in '{n}'"
            assert any(p.grad.abs().sum() > 0 for _, p in weights), f"{what}: the gradient penalty has zero gradient"
        else:  # no per-sample penalty is allowed with it: a plain backward must reach every weight
            critic.zero_grad(set_to_none=True)
            critic(x, labels).mean().backward()
            for n, p in critic.named_parameters():
                if p.dim() >= 2:
                    assert p.grad is not None and torch.isfinite(p.grad).all(), f"{what}: no finite gradient for weight '{n}'"
        _check_conditioning(what, critic, x, labels, num_classes)
        fresh = _build(host, "critic", name, spec, norm, encoder, options, deep=size >= DEEP_SIZE, seed=1)
        safetensors_round_trip(critic, fresh, x, labels)


def check_generator(
    host: PluginHost,
    name: str,
    *,
    norm: str | None = None,
    encoder: str | None = None,
    options: dict | None = None,
    channels: Iterable[int] = (1, 3),
    size: int | None = None,
    num_classes: int = 3,
    batch: int = 4,
) -> None:
    """The generator contract, for each channel count at 8x8, and for the first channel count again at
    32x32, where networks whose depth grows with the image size build every layer they have (or
    only at ``size`` when given):

    - ``(N, z_dim), (N,) -> (N, C, S, S)`` images in [-1, 1], also at batch size 1 (in eval mode;
      in train mode too without a batch-coupled normaliser);
    - a backward pass reaches every parameter;
    - the images depend on the labels exactly when the encoder conditions;
    - a safetensors save/load round trip gives the same images.
    """
    for c, size in _shapes(channels, size):
        spec = DataSpec(c, size, num_classes)
        what = f"generator '{name}' (norm={norm}, encoder={encoder}, {c}x{size}x{size})"
        gen = _build(host, "generator", name, spec, norm, encoder, options, deep=size >= DEEP_SIZE, seed=0).train()
        z = torch.randn(batch, gen.z_dim)
        labels = torch.arange(batch) % num_classes
        out = gen(z, labels)
        assert out.shape == (batch, c, size, size), f"{what}: expected images of shape {(batch, c, size, size)}, got {tuple(out.shape)}"
        assert torch.isfinite(out).all() and out.min() >= -1 and out.max() <= 1, f"{what}: images must be finite and in [-1, 1]"
        out.square().mean().backward()
        for n, p in gen.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), f"{what}: no finite gradient for parameter '{n}'"
        coupled = is_batch_coupled(gen)
        for mode in ("eval",) if coupled else ("eval", "train"):
            one = copy.deepcopy(gen).train(mode == "train")
            single = one(z[:1], labels[:1])
            assert single.shape == (1, c, size, size) and torch.isfinite(single).all(), f"{what}: fails at batch size 1 ({mode} mode)"
        _check_conditioning(what, gen, z, labels, num_classes)
        fresh = _build(host, "generator", name, spec, norm, encoder, options, deep=size >= DEEP_SIZE, seed=1)
        safetensors_round_trip(gen, fresh, z, labels)

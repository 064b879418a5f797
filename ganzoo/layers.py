"""Building blocks and checks for networks, for plugins and the engine alike.

- :func:`call_with_labels` and :class:`LabelledSequential`: norm layers that may take labels
  (conditional norms, ``encoder=cbn``);
- :func:`is_batch_coupled` and :func:`has_reparametrised_weights`: what the compatibility rules ask
  of a built network; :func:`assert_shape` for component boundaries;
- :class:`UpsampleConv`: a block that the engine can run faster without changing what it computes.

:class:`UpsampleConv` is nearest x2 upsampling followed by one or more 3x3 convolutions (stride 1,
padding 1) that read the same upsampled map, the usual generator block. It owns no weights: it
holds references to convolutions that the plugin registers itself, so parameter counts, state-dict
keys and checkpoints are those of the plain layers.

With ``fast = True`` (the engine's ``train.subpixel``, on by default) it never builds the upsampled
map. Each output pixel of "upsample, then 3x3 conv" sees only a 2x2 patch of the low-resolution
input, with a different sum of the 3x3 taps for each of the four output phases. Along one axis,
with taps ``w[0], w[1], w[2]`` and ``x`` zero-padded by one pixel (``xp[j] = x[j - 1]``)::

    y[2m]     = w[0] * x[m-1] + (w[1] + w[2]) * x[m]   = 2-tap conv on xp starting at m
    y[2m + 1] = (w[0] + w[1]) * x[m] + w[2] * x[m+1]   = 2-tap conv on xp starting at m + 1

so four 2x2 convolutions of the padded input, one per output phase, give every output pixel,
written interleaved into the output. That is 16 multiply-adds per low-resolution pixel instead of
36 (4/9 of the work), the same function up to float rounding. The
technique is the sub-pixel view of upsampling convolutions (Shi et al. 2016, arXiv 1609.05158;
Odena et al. 2016, "Deconvolution and checkerboard artifacts", Distill). ``tests/plugin_api/test_layers.py``
checks outputs and gradients against the plain path.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def is_batch_coupled(module: nn.Module) -> bool:
    """True when any layer mixes the samples of a batch (BatchNorm, or a layer flagged ``batch_coupled``)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) or getattr(m, "batch_coupled", False) for m in module.modules())


def has_reparametrised_weights(module: nn.Module) -> bool:
    """True when any layer's weight is computed by a parametrisation (spectral normalisation)."""
    from torch.nn.utils import parametrize

    return any(parametrize.is_parametrized(m) for m in module.modules())


def call_with_labels(layer: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``layer(x, labels)`` for layers that take labels (``takes_labels = True``), else ``layer(x)``."""
    return layer(x, labels) if getattr(layer, "takes_labels", False) else layer(x)


class LabelledSequential(nn.Sequential):
    """An ``nn.Sequential`` whose ``forward(x, labels)`` hands the labels to every child that takes them."""

    takes_labels = True

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        for layer in self:
            x = call_with_labels(layer, x, labels)
        return x


def assert_shape(t: torch.Tensor, shape: tuple[int | None, ...], what: str) -> None:
    """Check a tensor's shape at a component boundary (``None`` matches any size)."""
    ok = t.dim() == len(shape) and all(s is None or s == d for s, d in zip(shape, t.shape))
    if not ok:
        raise ValueError(f"{what}: expected shape {shape}, got {tuple(t.shape)}")


# Below this many multiply-adds per image (of the plain path, all convs together) the four small
# convolutions and interleaved writes cost more than they save: on a 2-core CPU a layer of 3.6M
# was 0.7-0.9x as fast, 14.5M about 1.0-1.2x, 58M 1.25-1.7x (forward plus backward, batch 64).
MIN_MACS = 8_000_000


def phase_weights(w: torch.Tensor) -> torch.Tensor:
    """(O, I, 3, 3) weights of "upsample x2, then conv" -> (4*O, I, 2, 2), channel o*4 + 2*row_phase + col_phase."""
    # along one axis: even phase taps (w0, w1 + w2), odd phase taps (w0 + w1, w2)
    rows = (
        torch.stack((w[:, :, 0], w[:, :, 1] + w[:, :, 2]), 2),
        torch.stack((w[:, :, 0] + w[:, :, 1], w[:, :, 2]), 2),
    )  # each (O, I, 2, 3)
    phases = [
        torch.stack((r[..., 0], r[..., 1] + r[..., 2]), 3) if odd == 0 else torch.stack((r[..., 0] + r[..., 1], r[..., 2]), 3)
        for r in rows
        for odd in (0, 1)
    ]  # 4 x (O, I, 2, 2), in order (0,0) (0,1) (1,0) (1,1)
    return torch.stack(phases, 1).flatten(0, 1)  # (O*4, I, 2, 2)


def _supported(conv: nn.Module) -> bool:
    """A 3x3 Conv2d with stride 1, padding 1 and one group (a normaliser may have wrapped it in something else)."""
    return (
        isinstance(conv, nn.Conv2d)
        and conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.padding == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
    )


class UpsampleConv(nn.Module):
    """``[conv(upsample(x)) for conv in convs]`` (nearest x2), computed in one sub-pixel pass when ``fast``
    and the layer is big enough to gain from it (:data:`MIN_MACS`)."""

    def __init__(self, *convs: nn.Module):
        super().__init__()
        self._convs = tuple(convs)  # references, not submodules: the owner registers them
        self.supported = all(_supported(conv) for conv in convs)  # otherwise always the plain path
        self.fast = True

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        n, c_in, h, w = x.shape
        macs = 4 * h * w * c_in * 9 * sum(conv.out_channels for conv in self._convs) if self.supported else 0
        if not (self.fast and macs >= MIN_MACS):
            up = F.interpolate(x, scale_factor=2, mode="nearest")  # (N, I, 2H, 2W)
            return [conv(up) for conv in self._convs]
        weights = [conv.weight for conv in self._convs]  # each (O_k, I, 3, 3); parametrisations run here
        sizes = [wt.shape[0] for wt in weights]
        layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
        wt = phase_weights(torch.cat(weights)).unflatten(0, (-1, 4))  # (O, 4, I, 2, 2), O = sum of the O_k
        xp = F.pad(x, (1, 1, 1, 1))  # (N, I, H+2, W+2)
        outs = [x.new_empty((n, o, 2 * h, 2 * w)).contiguous(memory_format=layout) for o in sizes]
        for a in (0, 1):
            for b in (0, 1):
                # phase (a, b): output pixels (2m + a, 2k + b) from the 2x2 windows of xp starting at (m + a, k + b)
                y = F.conv2d(xp[:, :, a : a + h + 1, b : b + w + 1], wt[:, 2 * a + b].contiguous(memory_format=layout))  # (N, O, H, W)
                for out, part in zip(outs, y.split(sizes, dim=1)):
                    out[:, :, a::2, b::2] = part
        for i, conv in enumerate(self._convs):
            if conv.bias is not None:
                outs[i] = outs[i] + conv.bias.view(1, -1, 1, 1)
        return outs


def set_fast(module: nn.Module, fast: bool) -> None:
    """Switch every :class:`UpsampleConv` in ``module`` between the sub-pixel and the plain path."""
    for m in module.modules():
        if isinstance(m, UpsampleConv):
            m.fast = fast

"""The sub-pixel path of UpsampleConv computes the same function and gradients as upsample-then-conv."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganzoo.registry.build import build_models, load_data
from ganzoo.registry.config import resolve
from ganzoo import layers
from ganzoo.layers import UpsampleConv, phase_weights, set_fast


def plain(x, conv):
    return conv(F.interpolate(x, scale_factor=2, mode="nearest"))


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("size", [(7, 7), (5, 8), (1, 1)])
def test_fast_path_equals_upsample_then_conv(channels_last, bias, size, monkeypatch):
    monkeypatch.setattr(layers, "MIN_MACS", 0)  # these layers are small
    torch.manual_seed(0)
    convs = [nn.Conv2d(6, 5, 3, padding=1, bias=bias), nn.Conv2d(6, 3, 3, padding=1, bias=bias)]
    x = torch.randn(4, 6, *size)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
        for c in convs:
            c.to(memory_format=torch.channels_last)
    layer = UpsampleConv(*convs)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    fast = layer(xa)
    ref = [plain(xb, c) for c in convs]
    weights = [torch.randn_like(r) for r in ref]  # a loss that weighs every output pixel differently
    for f, r in zip(fast, ref):
        assert f.shape == r.shape == (4, r.shape[1], 2 * size[0], 2 * size[1])
        torch.testing.assert_close(f, r, atol=1e-5, rtol=1e-5)
    grads_fast = torch.autograd.grad(sum((f * w).sum() for f, w in zip(fast, weights)), [xa, *[p for c in convs for p in c.parameters()]])
    grads_ref = torch.autograd.grad(sum((r * w).sum() for r, w in zip(ref, weights)), [xb, *[p for c in convs for p in c.parameters()]])
    for g, h in zip(grads_fast, grads_ref):
        torch.testing.assert_close(g, h, atol=1e-4, rtol=1e-4)


def test_phase_weights_of_a_single_tap():
    """A kernel with only its centre tap copies each pixel into all four phases with weight 1."""
    w = torch.zeros(1, 1, 3, 3)
    w[0, 0, 1, 1] = 1.0
    pw = phase_weights(w)  # (4, 1, 2, 2): phase (a, b) puts the centre tap on its own pixel (1 - a, 1 - b)
    for phase, (a, b) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        expected = torch.zeros(2, 2)
        expected[1 - a, 1 - b] = 1.0
        assert torch.equal(pw[phase, 0], expected)


def test_spectral_norm_conv_takes_the_fast_path_and_matches(monkeypatch):
    monkeypatch.setattr(layers, "MIN_MACS", 0)
    torch.manual_seed(1)
    conv = spectral_norm(nn.Conv2d(3, 4, 3, padding=1))
    layer = UpsampleConv(conv)
    assert layer.supported
    x = torch.randn(2, 3, 5, 5)
    conv.eval()  # no power iteration, so both paths see the same weight
    torch.testing.assert_close(layer(x)[0], plain(x, conv), atol=1e-5, rtol=1e-5)


def test_other_layers_fall_back_to_the_plain_path():
    wrapped = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1))  # a normaliser may wrap a conv like this
    strided = nn.Conv2d(3, 4, 3, padding=1, stride=2)
    for conv in (wrapped, strided):
        layer = UpsampleConv(conv)
        assert not layer.supported
        x = torch.randn(2, 3, 6, 6)
        assert torch.equal(layer(x)[0], plain(x, conv))


def test_owner_keeps_its_parameters_and_state_dict_keys():
    conv = nn.Conv2d(3, 4, 3, padding=1)
    owner = nn.Module()
    owner.conv = conv
    owner.up = UpsampleConv(conv)
    assert list(owner.state_dict()) == ["conv.weight", "conv.bias"]
    copied = copy.deepcopy(owner)
    assert copied.up._convs[0] is copied.conv  # a deep copy (EMA, reference loop) keeps the link


@pytest.mark.parametrize(
    "generator",
    [
        ["generator=resnet", "generator.base=32", "generator.z_dim=16"],
        ["generator=dcgan", "generator.base=16", "generator.z_dim=16", "generator.upsample=nearest"],
        ["generator=dcgan", "generator.base=16", "generator.upsample=nearest", "generator.encoder=cbn", "generator.norm=spectral"],
    ],
)
def test_generators_give_the_same_images_either_way(host, generator, monkeypatch):
    monkeypatch.setattr(layers, "MIN_MACS", 0)
    cfg = resolve(["data=synthetic", "critic=dcgan", "critic.width=4", *generator], host)
    data = load_data(cfg, host)
    torch.manual_seed(0)
    models = build_models(cfg, data.spec, host)
    g = models.generator.eval()
    ups = [m for m in g.modules() if isinstance(m, UpsampleConv)]
    assert ups and all(m.supported for m in ups)
    z, labels = torch.randn(8, g.z_dim), torch.arange(8) % data.spec.num_classes
    set_fast(g, False)
    slow = g(z, labels)
    set_fast(g, True)
    torch.testing.assert_close(g(z, labels), slow, atol=1e-5, rtol=1e-4)


def test_small_layers_take_the_plain_path(monkeypatch):
    """Under MIN_MACS the plain path runs: a spy on F.interpolate sees the call."""
    conv = nn.Conv2d(4, 4, 3, padding=1)
    layer = UpsampleConv(conv)
    calls = []
    real = F.interpolate
    monkeypatch.setattr(layers.F, "interpolate", lambda *a, **k: calls.append(1) or real(*a, **k))
    layer(torch.randn(1, 4, 3, 3))  # 4 * 9 * 4 * 9 * 4 multiply-adds, far under MIN_MACS
    assert calls == [1]
    monkeypatch.setattr(layers, "MIN_MACS", 0)
    layer(torch.randn(1, 4, 3, 3))
    assert calls == [1]

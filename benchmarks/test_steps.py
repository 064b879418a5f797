"""Throughput of the training phases (pytest-benchmark). Not collected by plain ``pytest``.

    python -m pytest benchmarks/ --benchmark-only

These time the same calls as ``ganzoo bench`` (:class:`ganzoo.bench.measure.Setup`).
"""

import pytest

from ganzoo.bench.measure import Setup
from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost

CONFIGS = {
    "default": ["train.progress=false"],
    "default-plain": ["train.progress=false", "train.subpixel=false", "train.channels_last=false"],
    # the seed's parts: a LayerNorm critic with the gradient penalty (what the penalty-cost target is about)
    "seed-parts-gp": ["preset=wgan-gp-paper", "train.progress=false"],
    "seed-parts-clip": ["preset=wgan-gp-paper", "train.progress=false", "constraint=clip"],
    # R3GAN's penalty on the same critic: gamma/2 (R1 + R2), a double backward over real and fake images
    "seed-parts-r1r2": ["preset=wgan-gp-paper", "train.progress=false", "constraint=r1r2"],
    "r3gan-small": ["preset=r3gan-small", "train.progress=false"],
    "seed-parts-plain": ["preset=wgan-gp-paper", "train.progress=false", "train.fused=false", "train.channels_last=false", "train.subpixel=false"],
}


@pytest.fixture(scope="module")
def host():
    return PluginHost(entry_points=[])


def _setup(host, name, *extra):
    return Setup(resolve([*CONFIGS[name], *extra], host), host)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_training_step(benchmark, host, name):
    setup = _setup(host, name, "train.n_critic=1")
    benchmark.pedantic(setup.generator_step, rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("constrain", [True, False], ids=["constrained", "unconstrained"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_critic_step(benchmark, host, name, constrain):
    setup = _setup(host, name)
    benchmark.pedantic(setup.critic_step, kwargs={"constrain": constrain}, rounds=10, warmup_rounds=2)


def test_generator_forward(benchmark, host):
    setup = _setup(host, "default")
    benchmark.pedantic(setup.generator_forward, rounds=10, warmup_rounds=2)


@pytest.mark.parametrize("source", ["tensor", "dataloader"])
def test_data_batches(benchmark, host, source):
    setup = _setup(host, "default")
    fn = setup.device_batch if source == "tensor" else setup.dataloader_batch()
    benchmark.pedantic(fn, rounds=50, warmup_rounds=5)

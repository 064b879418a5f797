"""Throughput of the training phases (pytest-benchmark). Not collected by plain ``pytest``.

    python -m pytest benchmarks/ --benchmark-only
"""

import pytest

from ganzoo.config import resolve
from ganzoo.plugins import PluginHost
from ganzoo.train import Trainer

CONFIGS = {
    "default": ["train.progress=false"],
    "default-clip": ["train.progress=false", "constraint=clip"],
}


@pytest.fixture(scope="module")
def host():
    return PluginHost(entry_points=[])


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_critic_phase(benchmark, host, name):
    trainer = Trainer(resolve([*CONFIGS[name], "train.n_critic=1"], host), host, run_dir=None)
    benchmark.pedantic(trainer.critic_phase, rounds=5, warmup_rounds=1)


def test_generator_phase(benchmark, host):
    trainer = Trainer(resolve([*CONFIGS["default"], "train.n_critic=1"], host), host, run_dir=None)
    trainer.critic_phase()
    benchmark.pedantic(trainer.generator_phase, rounds=5, warmup_rounds=1)

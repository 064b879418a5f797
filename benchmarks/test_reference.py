"""The engine against the seed notes' reference loop (pytest-benchmark). Not collected by plain ``pytest``.

    python -m pytest benchmarks/test_reference.py --benchmark-only

Each test times one generator step (n_critic critic steps and a generator step) of the seed
preset, with the generator narrowed to ``generator.base=64`` so a round takes seconds, not a
minute, on a 2-core CPU (``GANZOO_BENCH_FULL=1``: the seed's full width). ``ganzoo bench
--vs-reference`` makes the same comparison alternating in one process, which is the fairer
measurement on a shared machine.
"""

import os

import pytest

from ganzoo.bench.measure import Setup
from ganzoo.bench.reference import ReferenceLoop
from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost

SEED = ["preset=seed", "train.progress=false", *([] if os.environ.get("GANZOO_BENCH_FULL") else ["generator.base=64"])]


@pytest.fixture(scope="module")
def setup():
    host = PluginHost(entry_points=[])
    return Setup(resolve(SEED, host), host)


def test_engine_step(benchmark, setup):
    benchmark.pedantic(setup.generator_step, rounds=3, warmup_rounds=1)


def test_reference_step(benchmark, setup):
    reference = ReferenceLoop.like(setup.trainer)
    benchmark.pedantic(reference.step, rounds=3, warmup_rounds=1)

"""Cost of the NaN/Inf guard (ganzoo/guard.py): one generator step with the guard on and off.

    python -m pytest benchmarks/test_guard.py --benchmark-only

"on" is what every run does: a snapshot of both networks and optimisers, on-device finiteness
checks after each loss, penalty and backward, one host sync per generator step. "off" swaps in a
guard that does nothing. Compare the two means from one run.
"""

import pytest

from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost
from ganzoo.training.loop import Trainer


class NoGuard:
    fault = None

    def begin(self):
        pass

    def screen(self, quantity, n, value):
        return value

    def screen_grads(self, quantity, n, params):
        pass

    def end_update(self, point, n):
        pass

    def step_ok(self):
        return True


@pytest.fixture(scope="module")
def host():
    return PluginHost(entry_points=[])


@pytest.mark.parametrize("guard", ["on", "off"])
def test_generator_step(benchmark, host, guard):
    trainer = Trainer(resolve(["preset=wgan-gp-paper", "train.progress=false", "data=synthetic"], host), host)  # the seed's parts, n_critic 5
    if guard == "off":
        trainer.steps.guard = NoGuard()

    def step():
        trainer.guard.begin()
        _, batch = trainer.steps.critic_phase()
        trainer.steps.generator_phase(batch, trainer.step)
        assert trainer.guard.step_ok()

    benchmark.pedantic(step, rounds=6, warmup_rounds=1)

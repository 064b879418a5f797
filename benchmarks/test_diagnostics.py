"""Cost of the evidence `ganzoo doctor` reads (ganzoo/training/diagnostics.py).

    python -m pytest benchmarks/test_diagnostics.py --benchmark-only

``test_generator_step``: one generator step as the loop runs it (``one_step``, then the step's
metrics line read back from the device) with ``train.diag_every=0`` and ``1``; compare the two
means from one run. The difference is small against a step's noise on a shared machine, so
``test_evidence_calls`` also times the three calls a diagnosed step adds, on their own:
``n_critic`` x the critic call plus the generator's two, against one step's mean above.
"""

import pytest
import torch

from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost
from ganzoo.training.loop import Trainer

CONFIGS = {"default": ["data=synthetic"], "wgan-gp": ["preset=wgan-gp-paper", "data=synthetic", "generator.base=64"]}


@pytest.fixture(scope="module")
def host():
    return PluginHost(entry_points=[])


def _trainer(host, name, every):
    return Trainer(resolve([*CONFIGS[name], "train.progress=false", f"train.diag_every={every}"], host), host)


@pytest.mark.parametrize("every", [0, 1])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_generator_step(benchmark, host, name, every):
    trainer = _trainer(host, name, every)

    def step():
        stats = trainer.one_step(None)
        assert stats is not None
        record = trainer.record(stats)
        assert ("real_score" in record) == (every == 1)

    benchmark.pedantic(step, rounds=6, warmup_rounds=1)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_evidence_calls(benchmark, host, name):
    trainer = _trainer(host, name, 1)
    s = trainer.steps
    real, labels = s.batches.next()
    s.critic_step(real, s.fake_batch(labels), labels)  # the critic's gradients exist
    s.generator_phase(s.critic_phase()[1], 0)  # and the generator's
    evidence = s.evidence
    evidence.begin(0)
    scores = torch.randn(real.shape[0], device=real.device)

    def calls():
        for _ in range(s.n_critic):
            evidence.critic_step(scores, -scores, torch.ones(()), torch.ones(()))
        evidence.before_generator_update()
        evidence.after_generator_update()
        return evidence.figures()

    benchmark.pedantic(calls, rounds=50, warmup_rounds=2)

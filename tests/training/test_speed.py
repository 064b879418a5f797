"""The engine's speed features give the maths of the plain loop: the seed notes' reference loop,
the fused critic pass, channels-last, mixed precision and torch.compile."""

import copy

import pytest
import torch

import ganzoo
from ganzoo.training import speed
from ganzoo.bench.reference import ReferenceLoop
from ganzoo.registry.config import resolve
from ganzoo.errors import ConfigError
from ganzoo.penalties import input_gradients, scaled_input_gradients
from helpers import TINY
from ganzoo.training.precision import Precision
from ganzoo.training.loop import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py: one intra-op thread for this module


# The seed preset at toy sizes: BatchNorm and dropout in the generator, LayerNorm critic, gp.
SEED_TINY = [*TINY, "preset=seed"]  # a later key wins: the seed preset at conftest's tiny sizes


def _steps(step, n, seed=7):
    torch.manual_seed(seed)
    out = []
    for _ in range(n):
        out.append({k: float(v) for k, v in step().items()})
    return out


def _engine_step(trainer):
    def step():
        stats, batch = trainer.steps.critic_phase()
        stats["loss_g"] = trainer.steps.generator_phase(batch, trainer.step)
        return stats

    return step


def _close(a, b, rtol=1e-4, atol=1e-5):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            assert x[k] == pytest.approx(y[k], rel=rtol, abs=atol), (k, x, y)


# Dropout draws its mask in memory order, so a channels-last generator draws other (equally random)
# masks than the contiguous reference: the fast engine is compared without dropout.
@pytest.mark.parametrize(
    "engine",
    [["generator.dropout=0"], ["train.fused=false", "train.channels_last=false"], ["train.channels_last=false"]],
    ids=["fast", "plain", "fused"],
)
def test_engine_and_reference_loop_give_the_same_losses(host, engine):
    trainer = Trainer(resolve([*SEED_TINY, *engine], host), host)
    reference = ReferenceLoop.like(trainer)
    ours = _steps(_engine_step(trainer), 3)
    theirs = _steps(reference.step, 3)
    _close(ours, theirs)
    assert all(s["penalty"] > 0 for s in ours)  # the penalty is part of what was compared
    for a, b in zip(trainer.generator.state_dict().values(), reference.model_G.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), rtol=1e-3, atol=1e-5)


def test_reference_loop_builds_a_generator_graph_in_critic_steps(host):
    trainer = Trainer(resolve(SEED_TINY, host), host)
    reference = ReferenceLoop.like(trainer)
    seen = []
    reference.model_G.blocks.register_forward_hook(lambda m, i, o: seen.append(o.requires_grad))  # the loop calls G.forward
    reference.step()
    assert seen == [True] * 3  # 2 critic steps and the generator step, all with a graph


def test_reference_refuses_what_the_seed_loop_does_not_do(host):
    trainer = Trainer(resolve([*SEED_TINY, "constraint=clip"], host), host)
    with pytest.raises(ConfigError, match="constraint=gp"):
        ReferenceLoop.like(trainer)


def test_fused_pass_scores_like_two_passes_and_only_when_per_sample(host):
    trainer = Trainer(resolve(SEED_TINY, host), host)
    assert trainer.steps.fused
    real, labels = trainer.steps.batches.next()
    fake = trainer.steps.fake_batch(labels)
    together = speed.critic_scores(trainer.critic, real, fake, labels, fused=True)
    apart = speed.critic_scores(trainer.critic, real, fake, labels, fused=False)
    for a, b in zip(together, apart):
        assert a.shape == (8,) and torch.allclose(a, b, rtol=1e-5, atol=1e-6)
    batchnorm = Trainer(resolve([*SEED_TINY, "critic.norm=batch", "constraint=clip"], host), host)
    assert not batchnorm.steps.fused  # BatchNorm would see other batch statistics in one pass


def test_channels_last_converts_the_networks_and_keeps_the_losses(host):
    fast = Trainer(resolve(SEED_TINY, host), host)
    plain = Trainer(resolve([*SEED_TINY, "train.channels_last=false"], host), host)
    convs = [m.weight for m in fast.generator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    assert any(not w.is_contiguous() for w in convs)
    z, labels = torch.randn(4, 8), torch.tensor([0, 1, 2, 0])
    assert fast.generator(z, labels).is_contiguous(memory_format=torch.channels_last)
    assert all(w.is_contiguous() for w in plain.generator.parameters())
    no_dropout = [*SEED_TINY, "generator.dropout=0"]  # dropout masks follow the memory order
    fast = Trainer(resolve(no_dropout, host), host)
    plain = Trainer(resolve([*no_dropout, "train.channels_last=false"], host), host)
    _close(_steps(_engine_step(fast), 2), _steps(_engine_step(plain), 2))


def test_compile_is_refused_with_a_double_backward_penalty(host):
    with pytest.raises(ConfigError, match="double backward") as err:
        Trainer(resolve([*SEED_TINY, "train.compile=true"], host), host)
    assert "constraint=clip" in str(err.value) and "train.compile=false" in str(err.value)


def test_compile_gives_the_losses_of_eager_mode(host, monkeypatch):
    # aot_eager runs TorchDynamo's capture and AOTAutograd (where wrong gradients would come from)
    # without inductor's C++ build, which takes minutes on a 2-core CPU.
    monkeypatch.setattr(speed, "COMPILE_BACKEND", "aot_eager")
    torch._dynamo.reset()
    clip = [*SEED_TINY, "constraint=clip", "generator.dropout=0", "train.n_critic=1"]
    compiled = Trainer(resolve([*clip, "train.compile=true"], host), host)
    eager = Trainer(resolve(clip, host), host)
    assert compiled.critic._compiled_call_impl is not None and eager.critic._compiled_call_impl is None
    _close(_steps(_engine_step(compiled), 1), _steps(_engine_step(eager), 1), rtol=1e-4)
    torch._dynamo.reset()


def test_fp16_is_refused_on_a_cpu(host):
    with pytest.raises(ConfigError, match="needs a CUDA GPU") as err:
        Trainer(resolve([*SEED_TINY, "train.precision=fp16", "train.device=cpu"], host), host)
    assert "train.precision=bf16" in str(err.value)


def test_bf16_autocast_trains_close_to_fp32(host):
    one = [*SEED_TINY, "train.n_critic=1"]
    bf16 = Trainer(resolve([*one, "train.precision=bf16"], host), host)
    fp32 = Trainer(resolve(one, host), host)
    seen = []
    bf16.critic.features[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    a, b = _steps(_engine_step(bf16), 1)[0], _steps(_engine_step(fp32), 1)[0]
    assert torch.bfloat16 in seen
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=0.05, abs=0.05), k


class TinyScoreCritic(ganzoo.Critic):
    """Scores so small that fp16 gradients underflow to zero unless the scores are scaled first."""

    name = "tiny_scores"

    def __init__(self):
        torch.nn.Module.__init__(self)
        self.lin = torch.nn.Linear(16, 1, bias=False)
        torch.nn.init.constant_(self.lin.weight, 1e-4)

    def forward(self, x, labels):
        return 1e-4 * self.lin(x.flatten(1)).squeeze(1)  # d score / d x = 1e-8 everywhere


def test_fp16_penalty_gradient_is_taken_on_scaled_scores_then_unscaled():
    critic, x, labels = TinyScoreCritic(), torch.randn(3, 1, 4, 4), torch.zeros(3, dtype=torch.long)
    precision = Precision("fp16", torch.device("cpu"), strict=False)  # the GPU recipe, run on a CPU for the test
    with precision.autocast():
        plain = input_gradients(critic, x, labels)
        with precision.penalty_scale("critic"):  # the scaler's initial scale, 2**16
            scaled = input_gradients(critic, x, labels)
    assert torch.count_nonzero(plain) == 0  # 1e-8 is below fp16's smallest subnormal
    assert torch.allclose(scaled, torch.full_like(x, 1e-8), rtol=1e-2)
    assert scaled.dtype == torch.float32 and scaled.requires_grad


def test_scaled_input_gradients_change_nothing_in_fp32():
    critic, x, labels = TinyScoreCritic(), torch.randn(3, 1, 4, 4), torch.zeros(3, dtype=torch.long)
    with scaled_input_gradients(1024.0):
        scaled = input_gradients(critic, x, labels)
    assert torch.allclose(scaled, input_gradients(critic, x, labels), rtol=1e-6)


def test_fp16_trainer_steps_with_gradient_scalers(host):
    trainer = Trainer(resolve([*SEED_TINY, "train.n_critic=1"], host), host)
    trainer.steps.precision = Precision("fp16", torch.device("cpu"), strict=False)
    before = copy.deepcopy(trainer.critic.state_dict())
    stats = _steps(_engine_step(trainer), 2)
    assert all(torch.isfinite(torch.tensor(list(s.values()))).all() for s in stats)
    assert set(trainer.precision.state_dict()) == {"critic", "generator"}
    changed = [not torch.equal(before[k], v) for k, v in trainer.critic.state_dict().items()]
    assert any(changed)


def test_fused_adam_takes_the_plain_loops_steps(host):
    """speed.adam (torch's fused kernel) against the plain per-tensor Adam, fed the same gradients:
    the update rule is the same, so the weights differ by float rounding only. Each step moves a
    weight by at most about lr; rounding is a few float32 ulps of that, so after T steps the two
    agree to well within 1e-4 * lr * T (a wrong beta, bias correction or eps would differ by a
    sizeable fraction of lr)."""
    trainer = Trainer(resolve(TINY, host), host)
    assert all(g["fused"] for u in (trainer.steps.critic_update, trainer.steps.generator_update) for g in u.optimizer.param_groups)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 1))
    twin, start = copy.deepcopy(net), [p.detach().clone() for p in net.parameters()]
    lr, steps = 1e-3, 20
    fused = speed.adam(net.parameters(), lr=lr, betas=(0.5, 0.9))
    plain = torch.optim.Adam(twin.parameters(), lr=lr, betas=(0.5, 0.9), foreach=False)
    assert fused.param_groups[0]["fused"] and not plain.param_groups[0].get("fused")
    for _ in range(steps):
        grads = [torch.randn_like(p) for p in net.parameters()]
        for model, opt in ((net, fused), (twin, plain)):
            for p, g in zip(model.parameters(), grads):
                p.grad = g.clone()
            opt.step()
    apart = max((a - b).abs().max().item() for a, b in zip(net.parameters(), twin.parameters()))
    assert apart <= 1e-4 * lr * steps, apart
    assert min((a - b).abs().max().item() for a, b in zip(net.parameters(), start)) > lr  # every tensor moved

"""Promise 5 (RELIABILITY.md): a NaN or Inf in a loss, penalty or gradient never reaches the weights
or a checkpoint. The step is undone and retried on fresh batches up to ``train.max_retries`` times;
then the run stops with exit code 3 and names the quantity that went non-finite.

Faults are injected with ``GANZOO_FAULT=nan|inf:QUANTITY:N[:TIMES]`` (``ganzoo/faults.py``) and by a
throwaway plugin whose loss really produces NaN.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

import ganzoo
from helpers import TINY_RUN, override
from ganzoo.storage import checkpoint
from ganzoo.cli import main
from ganzoo.registry.config import resolve
from ganzoo.training.guard import NonFiniteError
from ganzoo.runs.launch import start
from ganzoo.runs.recorder import RunRecorder
from ganzoo.training.loop import Trainer

TINY_RUN = override(TINY_RUN, "train.n_critic=2")  # two critic steps per generator step (AT below)
NAMES = {
    "loss_d": "the critic loss (loss_d)",
    "penalty": "the critic penalty",
    "critic_grad": "the critic's gradient",
    "loss_g": "the generator loss (loss_g)",
    "generator_grad": "the generator's gradient",
}
# Generator step 2 runs critic steps 3 and 4 (n_critic=2): inject into critic step 4 or generator step 2.
AT = {"loss_d": 4, "penalty": 4, "critic_grad": 4, "loss_g": 2, "generator_grad": 2}


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py: one intra-op thread for this module


def _all_finite(run_dir) -> None:
    for path in checkpoint.list_checkpoints(run_dir / "checkpoints"):
        tensors, _, _ = checkpoint.load(path)
        bad = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        assert not bad, f"{path.name} holds non-finite {bad[:3]}"
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        assert all(math.isfinite(v) for k, v in json.loads(line).items() if isinstance(v, float)), line


@pytest.mark.parametrize("quantity,value", [*((q, "nan") for q in NAMES), ("critic_grad", "inf"), ("loss_g", "inf")])
def test_one_bad_step_is_undone_and_retried(host, tmp_path, monkeypatch, capsys, quantity, value):
    monkeypatch.setenv("GANZOO_FAULT", f"{value}:{quantity}:{AT[quantity]}")
    run_dir = start([*TINY_RUN, "train.steps=3", f"out={tmp_path / 'run'}"], host)
    err = " ".join(capsys.readouterr().err.split())
    # Named first; a bad loss also makes its gradient bad, and the message says so ("... and the critic's gradient").
    assert f"step 2: {NAMES[quantity]}" in err and "went non-finite; undid the step" in err
    assert "(1 of 3 retries)" in err
    assert [json.loads(r)["step"] for r in (run_dir / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    _all_finite(run_dir)


def test_the_undo_restores_the_last_good_state_exactly(host, tmp_path, monkeypatch):
    """After a failed step the live weights, buffers and optimiser state equal step 1's checkpoint bit for bit."""
    monkeypatch.setenv("GANZOO_FAULT", "nan:critic_grad:3:always")  # the first critic update of step 2
    cfg = resolve([*TINY_RUN, "train.steps=2", "train.max_retries=0", f"out={tmp_path / 'run'}"], host)
    trainer = Trainer(cfg, host)
    (tmp_path / "run").mkdir()
    recorder = RunRecorder(tmp_path / "run", trainer)
    with pytest.raises(NonFiniteError):
        trainer.fit(recorder)
    recorder.close()
    assert trainer.step == 1 and trainer.steps.critic_steps == 2
    saved, _, _ = checkpoint.load(checkpoint.list_checkpoints(tmp_path / "run" / "checkpoints")[-1])
    live = {f"critic/{k}": v for k, v in trainer.critic.state_dict().items()}
    live.update({f"generator/{k}": v for k, v in trainer.generator.state_dict().items()})
    for prefix, opt in (("opt_d", trainer.steps.critic_update.optimizer), ("opt_g", trainer.steps.generator_update.optimizer)):
        for idx, st in opt.state_dict()["state"].items():
            live.update({f"{prefix}/{idx}/{k}": v for k, v in st.items()})
    assert {k for k in saved if not k.startswith("data/")} == set(live)
    assert all(torch.equal(saved[k], live[k]) for k in live)


def test_a_fault_that_persists_stops_the_run_and_names_the_quantity(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANZOO_FAULT", "nan:loss_g:3:always")
    run_dir = tmp_path / "run"
    # checkpoint_every=0: the last good state (step 2) is saved when the run stops, so nothing is lost.
    code = main(["run", *override(TINY_RUN, "train.checkpoint_every=0"), "train.steps=5", "train.max_retries=2", f"out={run_dir}"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 3 and "Traceback" not in err
    assert "Training stopped at generator step 3: the generator loss (loss_g) and the generator's gradient went non-finite" in err
    assert "in 3 attempts in a row (train.max_retries=2)" in err and "they hold step 2" in err
    assert [p.name for p in checkpoint.list_checkpoints(run_dir / "checkpoints")] == ["step-00000002"]
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 2
    _all_finite(run_dir)
    # The saved last good state resumes (here with the fault gone) and finishes the run.
    monkeypatch.delenv("GANZOO_FAULT")
    assert main(["run", f"resume={run_dir}"]) == 0
    _all_finite(run_dir)


def test_the_first_bad_quantity_is_named_not_its_echoes(host, tmp_path, monkeypatch):
    """A NaN gradient poisons the weights, so every later loss is NaN too; the error names the gradient."""
    monkeypatch.setenv("GANZOO_FAULT", "inf:critic_grad:3:always")
    with pytest.raises(NonFiniteError) as err:
        start([*TINY_RUN, "train.steps=3", "train.max_retries=0", f"out={tmp_path / 'run'}"], host)
    assert "step 2: the critic's gradient went non-finite" in str(err.value)


class NanLoss(ganzoo.Loss):
    """A third-party loss with a real bug: the generator loss is log of a negative number."""

    name = "nan_test_loss"
    description = "Wasserstein, except the generator loss is NaN"

    def critic_loss(self, real_scores, fake_scores):
        return fake_scores.mean() - real_scores.mean()

    def generator_loss(self, fake_scores):
        return torch.log(-fake_scores.abs().mean() - 1.0)


class NanLossPlugin:
    @ganzoo.hookimpl
    def register_losses(self, register):
        register(NanLoss)


def test_a_plugin_that_produces_nan_cannot_corrupt_the_run(host, tmp_path, monkeypatch):
    name = host.register(NanLossPlugin(), name="nan-loss-plugin")
    try:
        with pytest.raises(NonFiniteError, match=r"the generator loss \(loss_g\)"):
            start(
                [*TINY_RUN, "loss=nan_test_loss", "constraint=clip", "train.steps=2", "train.max_retries=1", f"out={tmp_path / 'run'}"],
                host,
            )
    finally:
        host.unregister(name)
    assert not checkpoint.list_checkpoints(tmp_path / "run" / "checkpoints")  # step 1 never succeeded: nothing to save
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == ""


def test_no_fault_means_no_overhead_path(host, monkeypatch):
    monkeypatch.delenv("GANZOO_FAULT", raising=False)
    trainer = Trainer(resolve(TINY_RUN, host), host)
    assert trainer.guard.fault is None


@pytest.mark.parametrize(
    "spec,why",
    [
        ("nan:loss_d", "cannot be read: the form is ACTION:POINT:N[:TIMES][@rankR]"),
        ("boom:loss_d:1", "'boom' is not an action. Valid actions: kill"),
        ("rise:loss_d:1", "'rise' is not an action. Did you mean 'raise'?"),
        ("kill:loss_d:1", "'loss_d' is not a point for kill"),
        ("raise:loss_g:1", "'loss_g' is not a point for raise"),
        ("nan:critic_step:1", "'critic_step' is not a point for nan"),
        ("nan:loss_d:x", "N 'x' is not a whole number of at least 1"),
        ("nan:loss_d:0", "N '0' is not a whole number of at least 1"),
        ("nan:loss_d:1:often", "TIMES 'often' is not a whole number"),
        ("raise:generator_step:3@rank-1", "the rank '-1' is not a whole number of at least 0"),
        ("raise:generator_step:3@1", "cannot be read"),
    ],
)
def test_a_malformed_fault_spec_is_a_clean_error(spec, why):
    from ganzoo import faults
    from ganzoo.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        faults.parse(spec)
    assert str(caught.value).startswith(f"GANZOO_FAULT={spec!r}") and why in str(caught.value)


def test_one_fault_grammar_names_the_action_point_step_times_and_rank(monkeypatch):
    """``@rankR`` fires on rank R only; ``raise`` raises where ``kill`` would kill."""
    from ganzoo import faults, ranks

    fault = faults.parse("raise:generator_step:3@rank1")
    assert (fault.action, fault.point, fault.at, fault.times, fault.rank) == ("raise", "generator_step", 3, 1, 1)
    assert faults.parse("nan:loss_g:3:always").times is None and faults.parse("kill:logged:2:2").times == 2
    fault.strike("generator_step", 3)  # this process is rank 0: nothing happens
    assert fault.fired == 0
    monkeypatch.setattr(ranks, "rank", lambda: 1)
    fault.strike("generator_step", 2)  # another step: nothing
    with pytest.raises(RuntimeError, match=r"injected fault on rank 1 at generator_step 3 \(GANZOO_FAULT=raise:generator_step:3@rank1\)"):
        fault.strike("generator_step", 3)
    fault.strike("generator_step", 3)  # TIMES=1: once


def test_the_retired_fault_variables_are_refused_with_the_new_form(monkeypatch):
    from ganzoo import faults
    from ganzoo.errors import ConfigError

    monkeypatch.setenv("GANZOO_FAULT_STEP", "3")
    with pytest.raises(ConfigError, match=r"GANZOO_FAULT_STEP is no longer read.*GANZOO_FAULT=ACTION:POINT:N\[:TIMES\]\[@rankR\]"):
        faults.active()

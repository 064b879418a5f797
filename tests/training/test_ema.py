"""The generator EMA: its maths, its checkpoint, exact resume with it, and that samples use it."""

import numpy as np
import pytest
import torch

from ganzoo.storage import checkpoint
from helpers import assert_same_run, final_state
from ganzoo.registry.config import resolve
from ganzoo.training.ema import EMA
from ganzoo.runs.launch import start
from ganzoo.evaluation.generate import load_generator
from ganzoo.training.loop import Trainer


def test_update_is_a_moving_average_with_warm_up_and_copied_buffers():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = EMA(net, decay=0.5)
    old = [p.clone() for p in ema.module.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
        net[1].running_mean.fill_(7.0)
    assert ema.decay_at(0) == pytest.approx(0.1) and ema.decay_at(100) == 0.5  # min(0.5, (1 + t) / (10 + t))
    ema.update(net, step=100)
    for avg, o, p in zip(ema.module.parameters(), old, net.parameters()):
        assert torch.allclose(avg, 0.5 * o + 0.5 * p)
        assert not avg.requires_grad
    assert torch.equal(ema.module[1].running_mean, net[1].running_mean)
    assert not ema.module.training
    with pytest.raises(ValueError):
        EMA(net, decay=1.0)


def test_ema_is_off_unless_a_preset_or_override_sets_it_and_validated(host):
    assert resolve(["preset=wgan-gp-paper"], host).train.ema == 0.0  # the setting's own default
    assert resolve([], host).train.ema == 0.999  # the default recipe averages the generator
    from ganzoo.errors import ConfigError

    with pytest.raises(ConfigError, match="train.ema"):
        resolve(["train.ema=1.0"], host)


def test_checkpoint_holds_the_ema_and_sample_uses_it(host, tiny, tmp_path):
    run_dir = start(tiny("train.steps=3", "train.ema=0.9"), host)
    tensors = checkpoint.load(checkpoint.list_checkpoints(run_dir / "checkpoints")[-1])[0]
    live = {k[len("generator/") :]: v for k, v in tensors.items() if k.startswith("generator/")}
    avg = {k[len("generator_ema/") :]: v for k, v in tensors.items() if k.startswith("generator_ema/")}
    assert live.keys() == avg.keys() and any(not torch.equal(live[k], avg[k]) for k in live)
    generator, _, _ = load_generator(run_dir, host)
    assert all(torch.equal(v, avg[k]) for k, v in generator.state_dict().items())
    plain = start(tiny("train.steps=1", out="plain"), host)
    keys = checkpoint.load(checkpoint.list_checkpoints(plain / "checkpoints")[-1])[0]
    assert not any(k.startswith("generator_ema/") for k in keys)


def test_resume_with_ema_matches_an_unbroken_run(host, tiny):
    full = start(tiny("train.steps=4", "train.ema=0.9", "train.checkpoint_every=2", out="full"), host)
    part = start(tiny("train.steps=2", "train.ema=0.9", out="part"), host)
    start([f"resume={part}", "train.steps=4"], host)
    assert any(k.startswith("generator_ema/") for k in final_state(full)[0])
    assert_same_run(full, part)


def test_sample_grid_is_drawn_by_the_ema_generator(host, tiny, tmp_path):
    from PIL import Image

    from ganzoo.runs.recorder import RunRecorder
    from ganzoo.storage import plots

    trainer = Trainer(resolve(tiny("train.ema=0.5"), host), host)
    recorder = RunRecorder(tmp_path, trainer)
    with torch.no_grad():
        for p in trainer.ema.module.parameters():
            p.zero_()  # the live generator keeps its random weights
    path = recorder.sample_grid(trainer)
    recorder.close()
    with torch.no_grad():
        expected = trainer.ema.module.eval()(recorder.fixed_z, recorder.fixed_labels)
    plots.save_grid(expected, 8, tmp_path / "expected.png")
    assert np.array_equal(np.asarray(Image.open(path)), np.asarray(Image.open(tmp_path / "expected.png")))

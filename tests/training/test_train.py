"""End-to-end training on tiny sizes: artefacts, checkpoints, sampling, resume."""

import json
import os

import numpy as np
import pytest
import torch

from ganzoo.storage import checkpoint
from helpers import assert_same_run
from ganzoo.cli import main
from ganzoo.errors import CheckpointError, ConfigError, GanzooError
from ganzoo.runs.launch import start


def test_run_leaves_every_artefact(host, tiny, tmp_path):
    run_dir = start(tiny("train.steps=6", "train.sample_every=3", "train.checkpoint_every=2"), host)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["config"]["critic"]["name"] == "layernorm_cond"
    assert config["plugins"]["ganzoo_plugins.critics.layernorm_cond"]
    assert set(config["params"]) == {"critic", "generator"}
    lines = [json.loads(r) for r in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3, 4, 5, 6]
    assert all({"loss_d", "wasserstein", "penalty", "loss_g"} <= set(r) and np.isfinite(r["loss_d"]) for r in lines)
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["step-00000003.png", "step-00000006.png"]
    assert (run_dir / "loss.png").stat().st_size > 1000
    # Keeps the last two checkpoints only: steps 4 and 6.
    assert [p.name for p in checkpoint.list_checkpoints(run_dir / "checkpoints")] == ["step-00000004", "step-00000006"]
    assert not list((run_dir / "checkpoints").glob(".tmp-*"))


def test_sample_grid_rows_are_classes_with_fixed_noise(host, tiny):
    from PIL import Image

    run_dir = start(tiny("train.steps=2", "train.sample_every=1"), host)
    a, b = (np.asarray(Image.open(run_dir / "samples" / f"step-0000000{i}.png")) for i in (1, 2))
    # 3 classes x 8 columns of 8x8 images with 2-pixel padding.
    assert a.shape[:2] == (3 * 10 + 2, 8 * 10 + 2)
    assert not np.array_equal(a, b)  # the generator changed between the two grids


def test_checkpoint_is_safetensors_plus_json_with_config_in_header(host, tiny):
    from safetensors import safe_open

    run_dir = start(tiny("train.steps=2"), host)
    ckpt = checkpoint.list_checkpoints(run_dir / "checkpoints")[-1]
    assert sorted(p.name for p in ckpt.iterdir()) == ["state.json", "weights.safetensors"]
    with safe_open(str(ckpt / "weights.safetensors"), framework="pt") as f:
        header = json.loads(f.metadata()["ganzoo"])
        keys = list(f.keys())
    assert header["config"]["generator"]["name"] == "resnet" and header["plugins"]
    assert any(k.startswith("opt_d/") for k in keys) and any(k.startswith("generator/") for k in keys)
    state = json.loads((ckpt / "state.json").read_text())
    assert state["step"] == 2 and set(state["rng"]) >= {"torch", "data"}
    assert not list(run_dir.rglob("*.pt")) and not list(run_dir.rglob("*.pkl"))


def test_sample_command_writes_uint8_images_per_class(host, tiny, tmp_path, capsys):
    run_dir = start(tiny("train.steps=2"), host)
    out, grid = tmp_path / "s.npz", tmp_path / "s.png"
    assert main(["sample", str(run_dir), "--per-class", "4", "--out", str(out), "--grid", str(grid)]) == 0
    data = np.load(out)
    assert data["images"].dtype == np.uint8 and data["images"].shape == (12, 1, 8, 8)
    assert data["labels"].dtype == np.int64 and data["labels"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert grid.stat().st_size > 100


def test_resume_continues_from_the_last_checkpoint_and_matches_an_unbroken_run(host, tiny):
    full = start(tiny("train.steps=4", "train.checkpoint_every=2", out="full"), host)
    part = start(tiny("train.steps=2", out="part"), host)
    resumed = start([f"resume={part}", "train.steps=4"], host)
    assert resumed == part
    assert_same_run(full, part)  # every tensor, the counters and RNG states, every logged number


def test_resume_refuses_a_changed_configuration(host, tiny):
    part = start(tiny("train.steps=1"), host)
    with pytest.raises(ConfigError, match=r"train.lr_d: 0.0001 -> 0.001"):
        start([f"resume={part}", "train.lr_d=0.001"], host)


def test_resume_skips_a_damaged_checkpoint(host, tiny, capsys):
    run_dir = start(tiny("train.steps=2", "train.checkpoint_every=1"), host)
    newest = checkpoint.list_checkpoints(run_dir / "checkpoints")[-1]
    (newest / "weights.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="weights.safetensors"):
        checkpoint.load(newest)
    path, _, skipped = checkpoint.latest(run_dir / "checkpoints")
    assert path.name == "step-00000001" and "damaged" in skipped[0]


def test_out_that_holds_a_run_is_refused(host, tiny):
    start(tiny("train.steps=1"), host)
    with pytest.raises(ConfigError, match="already exists and is not empty .* It holds a ganzoo run: continue it with resume="):
        start(tiny("train.steps=1"), host)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_out_is_refused_before_training(host, tiny, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(GanzooError, match="Cannot create the run folder"):
        start([*tiny(), f"out={locked / 'run'}"], host)


def test_out_under_a_file_is_refused_before_training(host, tiny, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GanzooError, match="Cannot create the run folder .*a part of the path is a file"):
        start([*tiny(), f"out={blocker / 'run'}"], host)


def test_critic_phase_generates_fakes_without_a_graph(host, tiny):
    from ganzoo.registry.config import resolve
    from ganzoo.training.loop import Trainer

    cfg = resolve(tiny(), host)
    trainer = Trainer(cfg, host)
    seen = []
    trainer.generator.register_forward_hook(lambda m, i, o: seen.append((torch.is_grad_enabled(), o.requires_grad)))
    _, batch = trainer.steps.critic_phase()
    assert seen and all(flags == (False, False) for flags in seen)
    trainer.steps.generator_phase(batch, trainer.step)
    assert seen[-1] == (True, True)


def test_max_minutes_stops_early_with_the_last_step_written_and_resume_goes_on(host, tiny):
    # A limit shorter than one step: the run stops after step 1 and writes what the last step writes.
    run_dir = start(tiny("train.steps=50", "train.max_minutes=1e-9", "train.sample_every=0", "train.checkpoint_every=0"), host)
    steps = [json.loads(r)["step"] for r in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1]
    assert [p.name for p in checkpoint.list_checkpoints(run_dir / "checkpoints")] == ["step-00000001"]
    assert [p.name for p in (run_dir / "samples").iterdir()] == ["step-00000001.png"]
    # Resuming with the same limit does no step; raising it (a key resume may change) trains to the end.
    start([f"resume={run_dir}"], host)
    assert [json.loads(r)["step"] for r in (run_dir / "metrics.jsonl").read_text().splitlines()] == [1]
    start([f"resume={run_dir}", "train.max_minutes=60", "train.steps=3"], host)
    assert [json.loads(r)["step"] for r in (run_dir / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]

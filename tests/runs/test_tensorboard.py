"""train.tensorboard=true: the event files hold what metrics.jsonl and the sample grids hold, read back
with TensorBoard's own reader; a run killed and resumed shows every step once and in order; and
without the tensorboard package the run stops before training with the install command."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import TINY, run_cli
from ganzoo.cli import main
from ganzoo.errors import ConfigError
from ganzoo.registry.host import PluginHost
from ganzoo.runs.launch import start

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # the dev extra installs tensorboard

LOSSES = ("loss_d", "wasserstein", "penalty", "loss_g")


def events(path: Path) -> EventAccumulator:
    """Everything in a TensorBoard folder (or one event file), nothing sampled away."""
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def config_texts(acc: EventAccumulator) -> list[tuple[int, dict]]:
    """(step, config) of each resolved-config text: a Markdown code block of JSON."""
    out = []
    for e in acc.Tensors("config/text_summary"):
        text = e.tensor_proto.string_val[0].decode()
        out.append((e.step, json.loads("\n".join(line[4:] for line in text.splitlines()))))
    return out


def test_events_hold_the_losses_scores_grids_and_config_of_metrics_jsonl(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    run = start(
        [
            *TINY,
            "train.steps=4",
            "train.sample_every=2",
            "train.eval_every=2",
            "train.eval_n=10",
            "train.tensorboard=true",
            f"out={tmp_path / 'run'}",
        ],
        PluginHost(entry_points=[]),
    )
    acc = events(run / "tensorboard")
    lines = metrics(run)
    steps = [r for r in lines if "loss_d" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4]
    for key in LOSSES:
        got = acc.Scalars(f"train/{key}")
        assert [e.step for e in got] == [1, 2, 3, 4]
        assert [e.value for e in got] == pytest.approx([r[key] for r in steps], rel=1e-6, abs=1e-7)  # float32 in the events
    speed = acc.Scalars("speed/steps_per_s")
    times = [0.0] + [r["time"] for r in steps]
    assert [e.value for e in speed] == pytest.approx([1 / (b - a) for a, b in zip(times, times[1:])], rel=1e-4)
    evals = [r for r in lines if "eval" in r]
    assert [r["step"] for r in evals] == [2, 4]
    for key in ("class_acc", "diversity", "fd_ratio", "kid", "fd_floor", "kid_floor"):
        got = acc.Scalars(f"quality/{key}")
        assert [(e.step, e.value) for e in got] == [(r["step"], pytest.approx(r["eval"][key], rel=1e-6)) for r in evals]
    grids = acc.Images("samples")
    assert [e.step for e in grids] == [2, 4]
    for e in grids:  # the very pixels of samples/step-N.png
        shown = np.asarray(Image.open(io.BytesIO(e.encoded_image_string)).convert("RGB"))
        on_disk = np.asarray(Image.open(run / "samples" / f"step-{e.step:08d}.png").convert("RGB"))
        assert shown.shape == on_disk.shape and (shown == on_disk).all()
    stored = json.loads((run / "config.json").read_text())["config"]
    assert config_texts(acc) == [(1, stored)]


def test_a_killed_and_resumed_run_shows_every_step_once_and_in_order(tmp_path):
    run = tmp_path / "run"
    args = [*TINY, "train.steps=6", "train.sample_every=1", "train.checkpoint_every=2", "train.tensorboard=true", f"out={run}"]
    # SIGKILL right after step 4's metrics line: the checkpoint is step 2's, and step 3 (at least) is
    # already in the event file (flushed with its sample grid), so the resumed process logs it again.
    killed = run_cli(["run", *args], fault="kill:logged:4")
    assert killed.returncode == -9, killed.stderr
    (first,) = sorted((run / "tensorboard").iterdir())
    assert [e.step for e in events(first).Scalars("train/loss_d")][:3] == [1, 2, 3]
    resumed = run_cli(["run", f"resume={run}"])
    assert resumed.returncode == 0, resumed.stderr
    assert len(list((run / "tensorboard").iterdir())) == 2  # appended: one more event file in the same run

    acc = events(run / "tensorboard")
    steps = [r for r in metrics(run) if "loss_d" in r]
    assert [r["step"] for r in steps] == [1, 2, 3, 4, 5, 6]
    for key in LOSSES:
        got = acc.Scalars(f"train/{key}")
        assert [e.step for e in got] == [1, 2, 3, 4, 5, 6]
        assert [e.value for e in got] == pytest.approx([r[key] for r in steps], rel=1e-6, abs=1e-7)
    assert [e.step for e in acc.Scalars("speed/steps_per_s")] == [1, 2, 3, 4, 5, 6]
    assert [e.step for e in acc.Images("samples")] == [1, 2, 3, 4, 5, 6]
    assert [step for step, _ in config_texts(acc)] == [1, 3]  # the resumed process says what it ran with, from step 3


def test_without_the_tensorboard_package_the_run_stops_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # "import torch.utils.tensorboard" now fails
    run = tmp_path / "run"
    with pytest.raises(ConfigError) as caught:
        start([*TINY, "train.steps=3", "train.tensorboard=true", f"out={run}"], PluginHost(entry_points=[]))
    assert "pip install 'ganzoo[tensorboard]'" in str(caught.value) and "train.tensorboard" in str(caught.value)
    assert not (run / "metrics.jsonl").exists() and not (run / "checkpoints").exists() and not (run / "tensorboard").exists()

    code = main(["run", *TINY, "train.steps=3", "train.tensorboard=true", f"out={tmp_path / 'cli'}"])
    err = capsys.readouterr().err
    assert code == 2
    assert "pip install 'ganzoo[tensorboard]'" in err and "Traceback" not in err
    assert not (tmp_path / "cli" / "metrics.jsonl").exists()


def test_without_train_tensorboard_no_event_files_are_written(tmp_path):
    run = start([*TINY, "train.steps=2", f"out={tmp_path / 'run'}"], PluginHost(entry_points=[]))
    assert (run / "metrics.jsonl").exists() and not (run / "tensorboard").exists()

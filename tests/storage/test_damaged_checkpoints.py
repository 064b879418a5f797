"""Promises 2 and 3 (RELIABILITY.md): damaged, foreign and pickled files in a run directory.

Every damaged file gives one clear error that names it; ``resume=RUN_DIR`` takes the newest valid
checkpoint and says which it skipped; nothing in a run directory is ever unpickled.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from helpers import TINY_RUN
from ganzoo.storage import checkpoint
from ganzoo.cli import main
from ganzoo.errors import CheckpointError
from ganzoo.registry.host import PluginHost
from ganzoo.runs.launch import start


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py: one intra-op thread for this module


@pytest.fixture(scope="module")
def template(one_thread, tmp_path_factory):
    """One finished 3-step run (checkpoints 2 and 3), copied afresh for each test."""
    out = tmp_path_factory.mktemp("template") / "run"
    return start([*TINY_RUN, "train.steps=3", f"out={out}"], PluginHost(entry_points=[]))


@pytest.fixture
def run(template, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(template, copy)
    return copy


def _ckpt(run: Path, step: int) -> Path:
    return run / "checkpoints" / f"step-{step:08d}"


def _rewrite(ckpt: Path, tensors: dict, metadata: dict[str, str] | None) -> None:
    """Replace the weights and re-sign state.json, as a writer that knows the format would."""
    save_file(tensors, str(ckpt / checkpoint.WEIGHTS), metadata=metadata)
    state = json.loads((ckpt / checkpoint.STATE).read_text())
    state.pop("state_sha256")
    state["weights_sha256"] = checkpoint._sha256_file(ckpt / checkpoint.WEIGHTS)
    (ckpt / checkpoint.STATE).write_text(json.dumps({**state, "state_sha256": checkpoint._sha256_json(state)}))


def _truncate(f: Path) -> None:
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _flip_last_byte(f: Path) -> None:  # inside the tensor data: safetensors alone would not notice
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF
    f.write_bytes(bytes(data))


def _edit_state(f: Path) -> None:  # valid JSON, one value changed
    state = json.loads(f.read_text())
    state["data_pos"] += 1
    f.write_text(json.dumps(state))


DAMAGE = {
    "weights truncated": (checkpoint.WEIGHTS, _truncate),
    "weights bit flipped": (checkpoint.WEIGHTS, _flip_last_byte),
    "weights emptied": (checkpoint.WEIGHTS, lambda f: f.write_bytes(b"")),
    "state truncated": (checkpoint.STATE, _truncate),
    "state value edited": (checkpoint.STATE, _edit_state),
    "state removed": (checkpoint.STATE, lambda f: f.unlink()),
}


@pytest.mark.parametrize("how", list(DAMAGE))
def test_damaged_file_is_named_and_resume_skips_it(run, how, capsys):
    name, damage = DAMAGE[how]
    newest = _ckpt(run, 3)
    damage(newest / name)
    with pytest.raises(CheckpointError) as err:
        checkpoint.load(newest)
    assert name in str(err.value) and str(newest) in str(err.value)
    # resume=RUN_DIR takes step 2, says what it skipped, and finishes the run.
    assert main(["run", f"resume={run}", "train.steps=4"]) == 0
    out = capsys.readouterr().err
    assert "skipped a damaged checkpoint" in out and name in out and "from step-00000002" in out
    assert [p.name for p in checkpoint.list_checkpoints(run / "checkpoints")] == ["step-00000003", "step-00000004"]
    checkpoint.load(_ckpt(run, 3))  # the damaged step 3 was replaced by a good one
    aside = run / "checkpoints" / "damaged-step-00000003"  # and kept aside, not deleted: ganzoo cannot prove it wrote it
    assert aside.is_dir() and "moved" in out and "damaged-step-00000003" in out


@pytest.mark.parametrize(
    "metadata,fragment",
    [
        (None, "KeyError"),
        ({"format": "pt"}, "KeyError"),
        ({"ganzoo": "{not json"}, "JSONDecodeError"),
        ({"ganzoo": json.dumps({"plugins": {}})}, "no 'config' section"),
        ({"ganzoo": json.dumps({"config": {}, "data": {"size": "big"}})}, "no valid 'data' section"),
    ],
)
def test_wrong_metadata_is_named(run, metadata, fragment):
    ckpt = _ckpt(run, 3)
    _rewrite(ckpt, load_file(str(ckpt / checkpoint.WEIGHTS)), metadata)
    with pytest.raises(CheckpointError, match=fragment) as err:
        checkpoint.load(ckpt)
    assert str(ckpt / checkpoint.WEIGHTS) in str(err.value)


def test_every_checkpoint_damaged_is_one_error_listing_each(run, capsys):
    for step in (2, 3):
        _truncate(_ckpt(run, step) / checkpoint.WEIGHTS)
    assert main(["run", f"resume={run}"]) == 2
    err = capsys.readouterr().err
    assert "No usable checkpoint" in err and "step-00000002" in err and "step-00000003" in err
    assert "Traceback" not in err


def test_checkpoint_from_another_configuration_is_named(run, tmp_path, capsys):
    other = start([*TINY_RUN, "critic.width=4", "train.steps=4", f"out={tmp_path / 'other'}"], PluginHost(entry_points=[]))
    shutil.copytree(_ckpt(other, 4), _ckpt(run, 4))  # a newer, valid checkpoint of another run
    assert main(["run", f"resume={run}", "train.steps=5"]) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert "written by another configuration" in err and "critic.width: 4 -> 2" in err
    assert "step-00000004/weights.safetensors" in err and "Traceback" not in err


def test_checkpoint_whose_tensors_do_not_fit_is_named(run, tmp_path, capsys):
    """Same config in the header, tensors of another shape (e.g. a component changed its layers)."""
    other = start([*TINY_RUN, "critic.width=4", "train.steps=3", f"out={tmp_path / 'other'}"], PluginHost(entry_points=[]))
    mine = _ckpt(run, 3)
    _, _, header = checkpoint.load(mine)
    _rewrite(mine, load_file(str(_ckpt(other, 3) / checkpoint.WEIGHTS)), {"ganzoo": json.dumps(header)})
    assert main(["run", f"resume={run}", "train.steps=4"]) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert "does not fit this run" in err and "step-00000003/weights.safetensors" in err and "size mismatch" in err


def test_leftovers_of_interrupted_writes_are_removed_and_nothing_else(run):
    """Only what ganzoo can prove it wrote is deleted: its temporaries (their exact names, files a run
    writes, of a process that is gone). A folder made by hand and look-alike files of the user stay."""
    from ganzoo.storage.atomic import temporary

    root = run / "checkpoints"
    dead = 99999999  # no such process
    for name in (f".tmp-step-00000004-{dead}", f".old-step-00000003-{dead}"):
        (root / name).mkdir()
        (root / name / checkpoint.WEIGHTS).write_bytes(b"partial")
    (root / "step-00000009").mkdir()  # a folder someone made by hand, with nothing in it
    users = root / f".tmp-step-00000005-{dead}"  # named like a leftover, but holding the user's own file
    users.mkdir()
    (users / "mydata.csv").write_text("1,2")
    stale = [
        temporary(run / name).with_name(temporary(run / name).name.replace(str(os.getpid()), str(dead)))
        for name in ("config.json", "metrics.jsonl")
    ]
    stale.append(run / "samples" / f".step-00000004.tmp-{dead}.png")
    kept = [run / f".notes.tmp-{dead}.txt", run / "samples" / "my-notes.tmp"]
    for f in [*stale, *kept]:
        f.parent.mkdir(exist_ok=True)
        f.write_text("half")
    assert [p.name for p in checkpoint.list_checkpoints(root)][-1] == "step-00000009"
    path, _, skipped = checkpoint.latest(root)
    assert path.name == "step-00000003" and "incomplete" in skipped[0]
    start([f"resume={run}", "train.steps=4"], PluginHost(entry_points=[]))
    # ganzoo's leftovers are gone; the newest two remain; the hand-made and the user's things stay.
    assert sorted(p.name for p in root.iterdir()) == [f".tmp-step-00000005-{dead}", "step-00000003", "step-00000004", "step-00000009"]
    assert (users / "mydata.csv").read_text() == "1,2"
    assert not any(f.exists() for f in stale)
    assert all(f.read_text() == "half" for f in kept)


class _Bomb:
    """Unpickling this creates a marker file: proof that something was unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_files_are_never_loaded(run, tmp_path, monkeypatch, capsys):
    marker = tmp_path / "UNPICKLED"
    bomb = pickle.dumps(_Bomb(marker))
    root = run / "checkpoints"
    (root / "model.pkl").write_bytes(bomb)
    (root / "weights.pt").write_bytes(bomb)
    (_ckpt(run, 3) / "weights.pt").write_bytes(bomb)
    (root / "step-00000099").mkdir()
    (root / "step-00000099" / "weights.pt").write_bytes(bomb)  # a newer 'checkpoint' that is only a pickle

    def refuse(*args, **kwargs):
        raise AssertionError("something tried to unpickle")

    for target, name in ((torch, "load"), (pickle, "load"), (pickle, "loads"), (pickle, "Unpickler")):
        monkeypatch.setattr(target, name, refuse)
    assert main(["run", f"resume={run}", "train.steps=4"]) == 0
    assert "step-00000099" in capsys.readouterr().err  # skipped as incomplete, not loaded
    assert main(["sample", str(run), "--per-class", "1", "--out", str(tmp_path / "s.npz")]) == 0
    assert not marker.exists()


def test_no_source_file_unpickles():
    """Static check: no module of ganzoo or its built-in plugins calls torch.load or pickle."""
    roots = [Path(__file__).resolve().parents[2] / d for d in ("ganzoo", "plugins")]
    offenders = [
        f"{f}: {needle}"
        for root in roots
        for f in root.rglob("*.py")
        for needle in ("torch.load(", "import pickle", "pickle.load", "cloudpickle", "dill", "allow_pickle=True")
        if needle in f.read_text()
    ]
    assert not offenders


def test_torchvision_legacy_pickles_are_not_read(host, tmp_path, monkeypatch):
    """torchvision's MNIST would torch.load a legacy processed/training.pt; ganzoo turns that path off."""
    from ganzoo.registry.build import load_data
    from ganzoo.registry.config import resolve
    from ganzoo.errors import DataError

    processed = tmp_path / "MNIST" / "processed"
    processed.mkdir(parents=True)
    for f in ("training.pt", "test.pt"):
        (processed / f).write_bytes(pickle.dumps(_Bomb(tmp_path / "UNPICKLED")))
    monkeypatch.setattr(torch, "load", lambda *a, **k: (_ for _ in ()).throw(AssertionError("torch.load called")))
    with pytest.raises(DataError, match="not found"):
        load_data(resolve(["data=mnist", f"data.root={tmp_path}"], host), host)
    assert not (tmp_path / "UNPICKLED").exists()

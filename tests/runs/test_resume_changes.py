"""Promise 4 (RELIABILITY.md): a changed configuration on resume is refused with a readable diff,
unless the user lists the keys they mean to change with ``resume.allow=[KEY,KEY]``."""

from __future__ import annotations

import json
import shutil

import pytest

from helpers import TINY_RUN, override
from ganzoo.storage import checkpoint
from ganzoo.storage import folder as rundir
from ganzoo.cli import main
from ganzoo.errors import CheckpointError, ConfigError
from ganzoo.runs.launch import start

TINY_RUN = override(TINY_RUN, "train.checkpoint_every=500")  # the default: a checkpoint at the end only


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py: one intra-op thread for this module


@pytest.fixture(scope="module")
def template(one_thread, tmp_path_factory):
    from ganzoo.registry.host import PluginHost

    return start([*TINY_RUN, "train.steps=2", f"out={tmp_path_factory.mktemp('t') / 'run'}"], PluginHost(entry_points=[]))


@pytest.fixture
def run(template, tmp_path):
    shutil.copytree(template, tmp_path / "run")
    return tmp_path / "run"


def _err(capsys) -> str:
    return " ".join(capsys.readouterr().err.split())


def test_changes_are_refused_with_a_diff_and_the_way_out(run, capsys):
    before = (run / "metrics.jsonl").read_text()
    assert main(["run", f"resume={run}", "train.lr_d=0.001", "critic.width=4", "train.steps=3"]) == 2
    err = _err(capsys)
    assert "critic.width: 2 -> 4" in err and "train.lr_d: 0.0001 -> 0.001" in err
    assert "resume.allow=[critic.width,train.lr_d]" in err and "out=NEW_DIR" in err
    assert "train.steps" not in err.split("Without notice")[0]  # train.steps may always change
    assert (run / "metrics.jsonl").read_text() == before  # nothing was touched


def test_listed_changes_are_applied(host, run):
    start([f"resume={run}", "train.lr_d=0.001", "train.betas=[0.5,0.9]", "resume.allow=[train.lr_d,train.betas]", "train.steps=3"], host)
    assert json.loads((run / "config.json").read_text())["config"]["train"]["lr_d"] == 0.001
    _, state, header = checkpoint.load(checkpoint.list_checkpoints(run / "checkpoints")[-1])
    assert state["step"] == 3 and header["config"]["train"]["lr_d"] == 0.001
    # The optimiser really uses the new values, not the ones stored with its state.
    assert [g["lr"] for g in state["optimizers"]["opt_d"]] == [0.001]
    assert [g["lr"] for g in state["optimizers"]["opt_g"]] == [0.0001]
    assert state["optimizers"]["opt_d"][0]["betas"] == [0.5, 0.9]


def test_only_the_listed_keys_are_allowed(host, run):
    with pytest.raises(ConfigError) as err:
        start([f"resume={run}", "train.lr_d=0.001", "train.lr_g=0.001", "resume.allow=train.lr_d"], host)
    assert "train.lr_g: 0.0001 -> 0.001" in str(err.value) and "train.lr_d:" not in str(err.value)


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["resume.allow=train.lr_dd"], "Did you mean 'train.lr_d'"),
        (["resume.allow=[trian.steps,train.lr_d]"], "Did you mean 'train.steps'"),
        (["resume.allow=out"], "not a key of this run's configuration"),
    ],
)
def test_allow_keys_are_checked(run, argv, fragment, capsys):
    assert main(["run", f"resume={run}", *argv]) == 2
    assert fragment in _err(capsys)


def test_allow_without_resume_is_an_error(tmp_path, capsys):
    assert main(["run", *TINY_RUN, "resume.allow=train.lr_d", f"out={tmp_path / 'x'}"]) == 2
    assert "only applies together with resume=RUN_DIR" in _err(capsys)
    assert main(["run", "--dry-run", *TINY_RUN, "resume.allow=train.lr_d"]) == 2
    assert not (tmp_path / "x").exists()


def test_a_key_newer_than_the_run_is_not_a_change(host, run):
    """A run written before a config key existed resumes with that key's default."""
    record = json.loads((run / "config.json").read_text())
    del record["config"]["train"]["max_retries"]
    (run / "config.json").write_text(json.dumps(record))
    start([f"resume={run}", "train.steps=3"], host)
    assert json.loads((run / "config.json").read_text())["config"]["train"]["max_retries"] == 3


def test_allowed_change_that_cannot_fit_the_checkpoint_is_named(host, run):
    with pytest.raises(CheckpointError) as err:
        start([f"resume={run}", "data.n=16", "resume.allow=data.n", "train.steps=3"], host)
    assert "does not fit this run" in str(err.value) and "weights.safetensors" in str(err.value)
    assert "shuffles 32 images but the data has 16" in str(err.value)


def test_two_processes_never_train_one_run(host, run):
    with rundir.lock(run):  # as if another ganzoo process were training this run right now
        with pytest.raises(ConfigError, match=f"is being trained by process {__import__('os').getpid()}"):
            start([f"resume={run}", "train.steps=3"], host)
    start([f"resume={run}", "train.steps=3"], host)  # free again once the other one stops

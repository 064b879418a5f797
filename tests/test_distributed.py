"""Data-parallel training on torch.distributed (gloo, 2 CPU processes under torchrun).

A 2-process run over a global batch must equal a 1-process run over the same batch: gradients are
averaged by hand (no DDP, which cannot differentiate a gradient penalty) and every random tensor is
drawn for the global batch and sliced per rank.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import TINY
from dist_worker import train_and_dump
from ganzoo import checkpoint, distributed
from ganzoo.errors import ConfigError
from ganzoo.run import start

WORKER = Path(__file__).with_name("dist_worker.py")
# A per-sample generator norm: BatchNorm would couple the samples of a rank's shard only.
# The fused critic pass and channels-last change float rounding with the per-rank batch size; the
# equality tests compare the distributed maths itself, so they run the plain pass.
BASE = [*TINY, "generator.norm=layer", "train.sample_every=0", "train.fused=false", "train.channels_last=false"]
CASES = {
    "gp": [*BASE, "constraint=gp", "train.steps=1"],
    "r1": [*BASE, "constraint=r1", "train.steps=1"],
    "clip": [*BASE, "constraint=clip", "train.steps=1"],
    "dragan": [*BASE, "constraint=dragan", "train.steps=1"],
    "gp_long": [*BASE, "constraint=gp", "train.steps=4"],
}
TIMEOUT = 180  # seconds: a hang fails the test instead of the CI job


def torchrun(*args, env_extra=None, nproc=2):
    env = {**os.environ, "GANZOO_DIST_TIMEOUT": "60", "OMP_NUM_THREADS": "1", **(env_extra or {})}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def ganzoo_script():
    return str(Path(sys.executable).with_name("ganzoo"))


def assert_close(a, b, what):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k].double(), b[k].double(), rtol=1e-4, atol=1e-6), f"{what}: {k} differs by {(a[k] - b[k]).abs().max():.2e}"


@pytest.fixture(scope="module")
def two_process_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    (out / "cases.json").write_text(json.dumps(CASES))
    proc = torchrun(str(WORKER), str(out), str(out / "cases.json"), env_extra={"GANZOO_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("case", ["gp", "r1", "clip", "dragan"])
def test_one_step_on_two_processes_equals_one_process_over_the_global_batch(two_process_runs, host, tmp_path, case):
    torch.set_num_threads(1)
    train_and_dump(host, CASES[case], tmp_path / case, tmp_path / "single.safetensors")
    single = load_file(str(tmp_path / "single.safetensors"))
    rank0 = load_file(str(two_process_runs / f"{case}-rank0.safetensors"))
    assert_close(rank0, single, case)
    initial = _initial_weights(host, CASES[case], tmp_path)
    assert any(not torch.equal(initial[k], single[k]) for k in single if k.startswith("critic/"))  # the step did move


def _initial_weights(host, overrides, tmp_path):
    from ganzoo.config import resolve
    from ganzoo.train import Trainer

    trainer = Trainer(resolve([*overrides, f"out={tmp_path / 'init'}"], host), host, tmp_path / "init")
    return {f"{p}/{k}": v.clone() for p, m in trainer._modules() for k, v in m.state_dict().items()}


def test_after_several_steps_both_ranks_hold_identical_parameters(two_process_runs, host, tmp_path):
    r0 = load_file(str(two_process_runs / "gp_long-rank0.safetensors"))
    r1 = load_file(str(two_process_runs / "gp_long-rank1.safetensors"))
    assert r0.keys() == r1.keys() and all(torch.equal(r0[k], r1[k]) for k in r0)
    torch.set_num_threads(1)
    train_and_dump(host, CASES["gp_long"], tmp_path / "gp_long", tmp_path / "single.safetensors")
    assert_close(r0, load_file(str(tmp_path / "single.safetensors")), "gp after 4 steps")


def test_only_rank_zero_writes_the_run_directory(two_process_runs):
    run = two_process_runs / "gp_long"
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]  # once each: rank 1 logged nothing
    assert [p.name for p in checkpoint.list_checkpoints(run / "checkpoints")] == ["step-00000004"]
    state = json.loads((run / "checkpoints" / "step-00000004" / "state.json").read_text())
    assert state["world_size"] == 2


def test_a_killed_rank_ends_the_run_and_it_resumes_on_two_then_one_process(host, tmp_path):
    run = tmp_path / "run"
    args = [ganzoo_script(), "run", *BASE, "train.steps=4", "train.checkpoint_every=1", f"out={run}"]
    fault = {"GANZOO_FAULT_RANK": "1", "GANZOO_FAULT_STEP": "3", "GANZOO_FAULT_MODE": "kill", "GANZOO_DISABLE_PLUGIN_AUTOLOAD": "1"}
    killed = torchrun(*args, env_extra=fault)
    assert killed.returncode != 0
    assert [p.name for p in checkpoint.list_checkpoints(run / "checkpoints")][-1] == "step-00000002"
    resumed = torchrun(ganzoo_script(), "run", f"resume={run}", env_extra={"GANZOO_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stderr and "step 2 of 4" in resumed.stderr
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
    final = checkpoint.load(checkpoint.list_checkpoints(run / "checkpoints")[-1])[0]
    # An unbroken single-process run over the same global batch ends at the same weights.
    torch.set_num_threads(1)
    train_and_dump(host, [*BASE, "train.steps=4"], tmp_path / "unbroken", tmp_path / "unbroken.safetensors")
    unbroken = load_file(str(tmp_path / "unbroken.safetensors"))
    assert_close({k: v for k, v in final.items() if k in unbroken}, unbroken, "resumed")
    # The data position is global, so the same run continues on a different number of processes (1 here).
    start([f"resume={run}", "train.steps=5"], host)
    final = checkpoint.load(checkpoint.list_checkpoints(run / "checkpoints")[-1])[0]
    train_and_dump(host, [*BASE, "train.steps=5"], tmp_path / "unbroken5", tmp_path / "unbroken5.safetensors")
    unbroken = load_file(str(tmp_path / "unbroken5.safetensors"))
    assert_close({k: v for k, v in final.items() if k in unbroken}, unbroken, "resumed on 1 process")


def test_a_failing_rank_fails_the_whole_run_with_its_error_shown(tmp_path):
    args = [ganzoo_script(), "run", *BASE, "train.steps=4", f"out={tmp_path / 'run'}"]
    fault = {"GANZOO_FAULT_RANK": "1", "GANZOO_FAULT_STEP": "2", "GANZOO_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = torchrun(*args, env_extra=fault)  # subprocess.run's timeout turns a hang into a failure
    assert proc.returncode != 0
    assert "injected fault on rank 1 at step 2" in proc.stderr + proc.stdout


def test_a_global_batch_that_the_ranks_cannot_share_is_refused(monkeypatch):
    monkeypatch.setattr(distributed, "world", lambda: 3)
    with pytest.raises(ConfigError, match="train.batch_size=8 .* over 3 ranks.*train.batch_size=6"):
        distributed.check_batch(8)
    distributed.check_batch(9)


def test_without_torchrun_everything_is_one_process(monkeypatch):
    for key in distributed.ENV:
        monkeypatch.delenv(key, raising=False)
    assert distributed.init(torch.device("cpu")) == torch.device("cpu")
    assert not distributed.active() and distributed.world() == 1 and distributed.is_writer()
    x = torch.arange(6.0)
    assert torch.equal(distributed.shard(x), x)


def test_sync_bn_is_refused_on_cpu_only_where_there_is_batchnorm_to_sync(monkeypatch):
    monkeypatch.setattr(distributed, "world", lambda: 2)
    with_bn = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    with pytest.raises(ConfigError, match="train.sync_bn=true needs CUDA.*generator.norm=layer"):
        distributed.sync_batchnorm(with_bn, torch.device("cpu"))
    without = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.LayerNorm([2, 2, 2]))
    assert distributed.sync_batchnorm(without, torch.device("cpu")) is without


def test_bench_reports_one_versus_two_processes(tmp_path, capsys):
    from ganzoo.cli import main

    out = tmp_path / "procs.json"
    assert main(["bench", *BASE, "--procs", "1,2", "--rounds", "2", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["results"]
    assert [r["procs"] for r in rows] == [1, 2]
    assert rows[0]["speedup"] == 1.0 and all(r["steps_per_s"] > 0 for r in rows)
    assert "speed-up" in capsys.readouterr().out
    assert main(["bench", *BASE, "--procs", "one"]) == 2
    assert "--procs takes process counts" in capsys.readouterr().err

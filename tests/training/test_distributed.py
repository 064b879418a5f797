"""Data-parallel training on torch.distributed (gloo, 2 CPU processes under torchrun).

A 2-process run over a global batch must equal a 1-process run over the same batch: gradients are
averaged by hand (no DDP, which cannot differentiate a gradient penalty) and every random tensor is
drawn for the global batch and sliced per rank.
"""

import json
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from helpers import TINY, torchrun
from dist_worker import train_and_dump
from ganzoo.storage import checkpoint
from ganzoo import ranks
from ganzoo.training import distributed, state
from ganzoo.errors import ConfigError
from ganzoo.runs.launch import start

WORKER = Path(__file__).with_name("dist_worker.py")
# A per-sample generator norm: BatchNorm would couple the samples of a rank's shard only.
# The fused critic pass and channels-last change float rounding with the per-rank batch size; the
# equality tests compare the distributed maths itself, so they run the plain pass.
BASE = [*TINY, "generator.norm=layer", "train.sample_every=0", "train.fused=false", "train.channels_last=false"]
CASES = {
    "gp": [*BASE, "constraint=gp", "train.steps=1"],
    "r1": [*BASE, "constraint=r1", "train.steps=1"],
    # At the default limit (0.01) this tiny critic's output, and so its gradient, is float noise (W = 0,
    # README); a wider limit keeps the same clipping path with gradients worth comparing.
    "clip": [*BASE, "constraint=clip", "constraint.limit=0.5", "train.steps=1"],
    "dragan": [*BASE, "constraint=dragan", "train.steps=1"],
    # The relativistic pairing loss: real_i and fake_i must meet on the same rank (n_critic=2, so the
    # generator step pairs its fakes with the last critic batch's shard).
    "rpgan": [*BASE, "loss=rpgan", "constraint=r1r2", "train.steps=1"],
    "lsgan": [*BASE, "loss=lsgan", "train.steps=1"],
    "r2": [*BASE, "constraint=r2", "train.steps=1"],
    "r1r2": [*BASE, "constraint=r1r2", "train.steps=1"],
    "gp_long": [*BASE, "constraint=gp", "train.steps=4"],
    # The same step with a bug injected on purpose (tests/training/dist_worker.py): the comparison must catch each.
    "gp@grad_sum": [*BASE, "constraint=gp", "train.steps=1"],
    "gp@rank1_skips_penalty": [*BASE, "constraint=gp", "train.steps=1"],
}
TIMEOUT = 180  # seconds: a hang fails the test instead of the CI job


def ganzoo_script():
    return str(Path(sys.executable).with_name("ganzoo"))


# What float arithmetic allows between a 2-process and a 1-process run of the same maths.
# Sums run in another order (per-rank means, then the all-reduce), and thread counts and vector
# widths (AVX2, AVX-512) change the order again, so results agree to float32 rounding, not bit for bit.
# - Gradients: float32 rounding of a reduction is ~1e-7 relative; a network's averaged gradient
#   must match to GRAD_RTOL of its own norm. Measured: at most 2.3e-6 (AVX-512, 1 and 2 threads).
#   An averaging bug is an error of order 1 (a factor of 2 gives 1.0), so it cannot hide under it.
# - Weights: Adam moves each weight by about lr per optimiser step (|m/(sqrt(v)+eps)| <= ~1), and a
#   weight whose gradient is near Adam's eps can turn the float noise into a visible part of its
#   step. So weights must agree to a fraction of one Adam step per step taken. Measured: at most
#   0.02 lr after 1 step (AVX-512) and 0.006 lr (2 threads).
GRAD_RTOL = 1e-4
ADAM_STEP_FRACTION = 0.25


def assert_same_training(a, b, what, *, lr_d=1e-4, lr_g=1e-4, critic_steps, generator_steps):
    """``a`` (a 2-process rank) and ``b`` (the 1-process run) hold the same weights and gradients,
    within what float32 allows (above). Gradients are compared when both dumps carry them."""
    assert a.keys() == b.keys(), f"{what}: different tensors"
    bounds = {"critic": ADAM_STEP_FRACTION * lr_d * critic_steps, "generator": ADAM_STEP_FRACTION * lr_g * generator_steps}
    for k in a:
        if k.startswith("grad:"):
            continue
        net = k.split("/")[0].removesuffix("_ema")
        diff = (a[k].double() - b[k].double()).abs().max().item()
        assert diff <= bounds[net], (
            f"{what}: {k} differs by {diff:.2e}, more than {ADAM_STEP_FRACTION} of an Adam step per step ({bounds[net]:.2e})"
        )
    for net in ("critic", "generator"):
        keys = [k for k in a if k.startswith(f"grad:{net}/")]
        if not keys:
            continue
        total = sum(b[k].double().square().sum() for k in keys).sqrt().item()
        error = sum((a[k].double() - b[k].double()).square().sum() for k in keys).sqrt().item()
        assert error <= GRAD_RTOL * total, (
            f"{what}: the {net}'s averaged gradient differs by {error / total:.2e} of its norm (allowed {GRAD_RTOL:g})"
        )


def _steps(case):
    """(critic steps, generator steps) of one of CASES."""
    n = {k: int(v) for k, _, v in (o.partition("=") for o in CASES[case]) if k in ("train.steps", "train.n_critic")}
    return n["train.steps"] * n["train.n_critic"], n["train.steps"]


@pytest.fixture(scope="module")
def two_process_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    (out / "cases.json").write_text(json.dumps(CASES))
    proc = torchrun(str(WORKER), str(out), str(out / "cases.json"), env_extra={"GANZOO_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("case", ["gp", "r1", "clip", "dragan", "rpgan", "lsgan", "r2", "r1r2"])
def test_one_step_on_two_processes_equals_one_process_over_the_global_batch(two_process_runs, host, tmp_path, case):
    torch.set_num_threads(1)
    train_and_dump(host, CASES[case], tmp_path / case, tmp_path / "single.safetensors")
    single = load_file(str(tmp_path / "single.safetensors"))
    rank0 = load_file(str(two_process_runs / f"{case}-rank0.safetensors"))
    critic_steps, generator_steps = _steps(case)
    assert_same_training(rank0, single, case, critic_steps=critic_steps, generator_steps=generator_steps)
    initial = _initial_weights(host, CASES[case], tmp_path)
    assert any(not torch.equal(initial[k], single[k]) for k in single if k.startswith("critic/"))  # the step did move


def _initial_weights(host, overrides, tmp_path):
    from ganzoo.registry.config import resolve
    from ganzoo.training.loop import Trainer

    trainer = Trainer(resolve([*overrides, f"out={tmp_path / 'init'}"], host), host)
    return {f"{p}/{k}": v.clone() for p, m in state.modules(trainer) for k, v in m.state_dict().items()}


@pytest.mark.slow
def test_after_several_steps_both_ranks_hold_identical_parameters(two_process_runs, host, tmp_path):
    r0 = load_file(str(two_process_runs / "gp_long-rank0.safetensors"))
    r1 = load_file(str(two_process_runs / "gp_long-rank1.safetensors"))
    assert r0.keys() == r1.keys() and all(torch.equal(r0[k], r1[k]) for k in r0)
    torch.set_num_threads(1)
    train_and_dump(host, CASES["gp_long"], tmp_path / "gp_long", tmp_path / "single.safetensors")
    assert_same_training(r0, load_file(str(tmp_path / "single.safetensors")), "gp after 4 steps", critic_steps=8, generator_steps=4)


@pytest.mark.slow
@pytest.mark.parametrize("bug", ["grad_sum", "rank1_skips_penalty"])
def test_the_comparison_catches_a_distributed_bug(two_process_runs, host, tmp_path, bug):
    """Gradients summed instead of averaged (a factor of 2), or one rank that skips the penalty, must
    fail the same comparison that the correct runs pass."""
    torch.set_num_threads(1)
    train_and_dump(host, CASES["gp"], tmp_path / "gp", tmp_path / "single.safetensors")
    buggy = load_file(str(two_process_runs / f"gp@{bug}-rank0.safetensors"))
    with pytest.raises(AssertionError, match="differs by"):
        assert_same_training(buggy, load_file(str(tmp_path / "single.safetensors")), bug, critic_steps=2, generator_steps=1)


@pytest.mark.slow
def test_only_rank_zero_writes_the_run_directory(two_process_runs):
    run = two_process_runs / "gp_long"
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]  # once each: rank 1 logged nothing
    assert [p.name for p in checkpoint.list_checkpoints(run / "checkpoints")] == ["step-00000004"]
    state = json.loads((run / "checkpoints" / "step-00000004" / "state.json").read_text())
    assert state["world_size"] == 2


@pytest.mark.slow
def test_a_killed_rank_ends_the_run_and_it_resumes_on_two_then_one_process(host, tmp_path):
    run = tmp_path / "run"
    args = [ganzoo_script(), "run", *BASE, "train.steps=4", "train.checkpoint_every=1", f"out={run}"]
    fault = {"GANZOO_FAULT": "kill:generator_step:3@rank1", "GANZOO_DISABLE_PLUGIN_AUTOLOAD": "1"}
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
    weights = {k: v for k, v in unbroken.items() if not k.startswith("grad:")}  # checkpoints hold no gradients
    assert_same_training({k: v for k, v in final.items() if k in weights}, weights, "resumed", critic_steps=8, generator_steps=4)
    # The data position is global, so the same run continues on a different number of processes (1 here).
    start([f"resume={run}", "train.steps=5"], host)
    final = checkpoint.load(checkpoint.list_checkpoints(run / "checkpoints")[-1])[0]
    train_and_dump(host, [*BASE, "train.steps=5"], tmp_path / "unbroken5", tmp_path / "unbroken5.safetensors")
    unbroken = load_file(str(tmp_path / "unbroken5.safetensors"))
    weights = {k: v for k, v in unbroken.items() if not k.startswith("grad:")}
    assert_same_training(
        {k: v for k, v in final.items() if k in weights}, weights, "resumed on 1 process", critic_steps=10, generator_steps=5
    )


@pytest.mark.slow
def test_a_failing_rank_fails_the_whole_run_with_its_error_shown(tmp_path):
    args = [ganzoo_script(), "run", *BASE, "train.steps=4", f"out={tmp_path / 'run'}"]
    fault = {"GANZOO_FAULT": "raise:generator_step:2@rank1", "GANZOO_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = torchrun(*args, env_extra=fault)  # subprocess.run's timeout turns a hang into a failure
    assert proc.returncode != 0
    assert "injected fault on rank 1 at generator_step 2 (GANZOO_FAULT=raise:generator_step:2@rank1)" in proc.stderr + proc.stdout


def test_a_global_batch_that_the_ranks_cannot_share_is_refused(monkeypatch):
    monkeypatch.setattr(ranks, "world", lambda: 3)
    with pytest.raises(ConfigError, match="train.batch_size=8 .* over 3 ranks.*train.batch_size=6"):
        distributed.check_batch(8)
    distributed.check_batch(9)


def test_without_torchrun_everything_is_one_process(monkeypatch):
    for key in ranks.ENV:
        monkeypatch.delenv(key, raising=False)
    assert distributed.init(torch.device("cpu")) == torch.device("cpu")
    assert not ranks.active() and ranks.world() == 1 and ranks.is_writer()
    x = torch.arange(6.0)
    assert torch.equal(ranks.shard(x), x)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "env,fragment",
    [
        ({"RANK": "x"}, "RANK='x' is not usable: RANK is the rank of this process"),
        ({"LOCAL_RANK": "zz"}, "LOCAL_RANK='zz' is not usable"),
        ({"WORLD_SIZE": "two"}, "WORLD_SIZE='two' is not usable"),
        ({"MASTER_PORT": "http"}, "MASTER_PORT='http' is not usable"),
        ({"RANK": "2"}, "RANK=2 with WORLD_SIZE=2: the ranks of 2 processes are 0 to 1"),
        ({"GANZOO_FAULT": "explode:generator_step:1@rank1"}, "GANZOO_FAULT='explode:generator_step:1@rank1': 'explode' is not an action"),
        (
            {"GANZOO_FAULT": "raise:generator_step:1@rankone"},
            "GANZOO_FAULT='raise:generator_step:1@rankone': the rank 'one' is not a whole number",
        ),
        ({"GANZOO_FAULT_RANK": "1"}, "GANZOO_FAULT_RANK is no longer read: one variable names the fault and its rank"),
    ],
)
def test_malformed_torchrun_variables_are_one_paragraph_and_exit_2(tmp_path, capsys, monkeypatch, env, fragment):
    from ganzoo.cli import main

    full = {"RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "GANZOO_DIST_TIMEOUT": "5", **env}
    for key, value in full.items():
        monkeypatch.setenv(key, value)
    code = main(["run", *BASE, "train.steps=1", f"out={tmp_path / 'run'}"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and fragment in err and "Traceback" not in err and err.count("error:") == 1
    assert "Valid actions: kill" in err if "not an action" in fragment else "Traceback" not in err
    assert not ranks.active() and not (tmp_path / "run").exists()


def test_a_rank_whose_peers_never_come_stops_after_the_timeout_with_exit_4(tmp_path, capsys, monkeypatch):
    from ganzoo.cli import main

    env = {"RANK": "0", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "GANZOO_DIST_TIMEOUT": "2"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = main(["run", *BASE, "train.steps=1", f"out={tmp_path / 'run'}"])  # rank 1 is never started
    err = " ".join(capsys.readouterr().err.split())
    assert code == 4 and "Traceback" not in err and err.count("error:") == 1
    assert "Rank 0 of 2 waited 2 s (GANZOO_DIST_TIMEOUT) for the other ranks to join at 127.0.0.1:" in err
    assert not ranks.active() and not (tmp_path / "run").exists()


def test_sync_bn_is_refused_on_cpu_only_where_there_is_batchnorm_to_sync(monkeypatch):
    monkeypatch.setattr(ranks, "world", lambda: 2)
    with_bn = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    with pytest.raises(ConfigError, match="train.sync_bn=true needs CUDA.*generator.norm=layer"):
        distributed.sync_batchnorm(with_bn, torch.device("cpu"))
    without = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.LayerNorm([2, 2, 2]))
    assert distributed.sync_batchnorm(without, torch.device("cpu")) is without


@pytest.mark.slow
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


def test_the_two_process_comparison_would_catch_a_mispairing(host, tmp_path, monkeypatch):
    """tests/training/test_distributed.py compares the "rpgan" case on 2 processes with 1 process. A rank
    that paired its fakes with the wrong real scores (here: shifted by one) must fail that comparison."""
    torch.set_num_threads(1)
    train_and_dump(host, CASES["rpgan"], tmp_path / "right", tmp_path / "right.safetensors")
    cls = host.get("loss", "rpgan")
    paired = cls.generator_loss
    monkeypatch.setattr(cls, "generator_loss", lambda self, fake, real=None: paired(self, fake, real.roll(1)))
    train_and_dump(host, CASES["rpgan"], tmp_path / "wrong", tmp_path / "wrong.safetensors")
    with pytest.raises(AssertionError, match="differs by"):
        assert_same_training(
            load_file(str(tmp_path / "wrong.safetensors")),
            load_file(str(tmp_path / "right.safetensors")),
            "mispaired",
            critic_steps=2,
            generator_steps=1,
        )

"""``ganzoo bench``: the table and JSON, the matrix, --compare and --fail-slower, --vs-reference."""

import json
import time

import pytest
import torch

from ganzoo.bench import report
from ganzoo.bench.measure import Settings, Setup
from ganzoo.bench.runner import expand
from ganzoo.bench.timing import Stats, alternate
from ganzoo.cli import main
from ganzoo.errors import ConfigError

from helpers import TINY, override

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py: one intra-op thread for this module


FAST = ["--rounds", "2", "--warmup", "0", "--peak-size", "64"]


def test_bench_matrix_prints_a_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", *TINY, "--matrix", "constraint=gp,clip", "--json", str(out), *FAST]) == 0
    table = capsys.readouterr().out
    assert "constraint=gp" in table and "constraint=clip" in table and "train images/s" in table
    data = json.loads(out.read_text())
    assert data["mode"] == "bench" and data["machine"]["device"] == "cpu" and data["matmul_peak"]["gflops"] > 0
    assert [r["label"] for r in data["results"]] == ["constraint=gp", "constraint=clip"]
    for r in data["results"]:
        assert r["status"] == "ok" and r["batch"] == 8 and r["n_critic"] == 2
        m = r["metrics"]
        assert len(m["train_images_per_s"]["times_s"]) == 2 and m["train_images_per_s"]["per_s"] > 0
        assert m["train_images_per_s"]["per_s"] == pytest.approx(16 * m["generator_steps_per_s"]["per_s"])
        assert {
            "critic_step",
            "critic_step_unconstrained",
            "generator_forward_images_per_s",
            "data_tensor_batches_per_s",
            "data_dataloader_batches_per_s",
        } <= set(m)
        assert r["peak_memory_mb"] > 10 and r["params"]["critic"] > 0 and r["params"]["generator"] > 0
        assert r["flops"]["generator_forward_per_image"] > r["flops"]["critic_forward_per_image"] > 0
        assert 0 < r["peak_fraction"] and r["achieved_gflops"] > 0
    gp, clip = data["results"]
    # The gradient penalty's double backward is counted: a gp step has more FLOPs than a clip step.
    assert gp["flops"]["train_step"] > clip["flops"]["train_step"]
    assert gp["fused_critic_pass"] is True


def test_bench_refuses_bad_combinations_before_timing(capsys):
    assert main(["bench", *TINY, "--matrix", "critic=layernorm_cond,layrnorm", *FAST]) == 2
    err = capsys.readouterr().err
    assert "critic=layrnorm" in err and "Did you mean 'layernorm_cond'" in err and "Traceback" not in err
    assert main(["bench", *TINY, "--matrix", "constraint", *FAST]) == 2
    assert "Cannot read the override 'constraint': overrides have the form key=value" in capsys.readouterr().err
    assert main(["bench", *TINY, "--fail-slower", "10", *FAST]) == 2
    assert "--compare" in capsys.readouterr().err


def test_bench_marks_a_refused_combination_and_measures_the_rest(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert main(["bench", *TINY, "critic.norm=batch", "--matrix", "constraint=gp,clip", "--json", str(out), *FAST]) == 0
    rows = {r["label"]: r for r in json.loads(out.read_text())["results"]}
    assert rows["constraint=gp"]["status"] == "refused" and "batch-coupled" in rows["constraint=gp"]["error"]
    assert rows["constraint=clip"]["status"] == "ok" and rows["constraint=clip"]["fused_critic_pass"] is False
    assert "batch-coupled" in capsys.readouterr().err


def test_compare_flags_an_injected_slowdown(tmp_path, capsys, monkeypatch):
    saved = tmp_path / "before.json"
    assert main(["bench", *TINY, "constraint=clip", "--json", str(saved), *FAST]) == 0
    capsys.readouterr()
    before = json.loads(saved.read_text())["results"][0]["metrics"]["train_images_per_s"]["median_s"]
    slow_step = Setup.generator_step

    def slowed(self):
        slow_step(self)
        time.sleep(4 * before + 0.05)  # at least 5x slower whatever the machine's load was

    monkeypatch.setattr(Setup, "generator_step", slowed)
    after = tmp_path / "after.json"
    code = main(["bench", *TINY, "constraint=clip", "--compare", str(saved), "--fail-slower", "50", "--json", str(after), *FAST])
    captured = capsys.readouterr()
    assert code == 1
    assert "train_images_per_s" in captured.err and "slower" in captured.err
    assert "saved" in captured.out
    ratios = json.loads(after.read_text())["comparison"]["ratios"]["base"]
    assert ratios["train_images_per_s"] < 0.5


def _result(label, **per_s):
    return {"label": label, "status": "ok", "metrics": {k: {"per_s": v} for k, v in per_s.items()}}


def test_compare_ratios_and_threshold():
    saved = {"results": [_result("a", train_images_per_s=100.0, critic_step=10.0), _result("b", train_images_per_s=50.0)]}
    new = [
        _result("a", train_images_per_s=80.0, critic_step=12.0),
        _result("b", train_images_per_s=49.0),
        _result("c", train_images_per_s=1.0),
    ]
    cmp = report.compare(new, saved, fail_slower=10)
    assert cmp["ratios"]["a"] == {"train_images_per_s": pytest.approx(0.8), "critic_step": pytest.approx(1.2)}
    assert cmp["ratios"]["b"]["train_images_per_s"] == pytest.approx(0.98) and "c" not in cmp["ratios"]
    assert len(cmp["regressions"]) == 1 and cmp["regressions"][0].startswith("a: train_images_per_s 0.80x")
    assert report.compare(new, saved, fail_slower=None)["regressions"] == []


def test_compare_refuses_a_file_that_is_not_bench_output(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    assert main(["bench", *TINY, "--compare", str(bad), *FAST]) == 2
    assert "not a `ganzoo bench --json` file" in capsys.readouterr().err


def test_vs_reference_reports_the_ratio(tmp_path, capsys):
    out = tmp_path / "vs.json"
    # --vs-reference picks the seed preset itself; the default precision (auto) runs as fp32 there
    tiny = [x for x in TINY if not x.startswith(("preset=", "train.precision="))]
    assert main(["bench", *tiny, "--vs-reference", "--json", str(out), *FAST]) == 0
    assert "speedup" in capsys.readouterr().out
    data = json.loads(out.read_text())
    r = data["results"][0]
    assert data["mode"] == "vs_reference" and r["status"] == "ok" and r["config"]["preset"] == "seed"
    assert r["overrides"][0] == "preset=seed" and r["label"] == "base" and r["config"]["train"]["precision"] == "auto"
    e, ref = r["metrics"]["engine_images_per_s"], r["metrics"]["reference_images_per_s"]
    assert r["speedup"] == pytest.approx(ref["median_s"] / e["median_s"]) and len(r["speedup_per_round"]) == 2


def test_vs_reference_refuses_an_explicit_mixed_precision(capsys):
    assert main(["bench", *override(TINY, "train.precision=bf16"), "--vs-reference", *FAST]) == 2
    assert "compares fp32 maths" in capsys.readouterr().err


def test_vs_reference_refuses_another_constraint(capsys):
    assert main(["bench", *TINY, "constraint=clip", "--vs-reference", *FAST]) == 2
    assert "constraint=gp" in capsys.readouterr().err


def test_a_matrix_axis_keeps_commas_inside_brackets():
    """``train.betas=[0,0.9],[0.5,0.99]`` is two values, read by the same parser as sweep's."""
    combos = expand([], ["train.betas=[0,0.9],[0.5,0.99]"])
    assert [items for _, items in combos] == [["train.betas=[0,0.9]"], ["train.betas=[0.5,0.99]"]]
    from ganzoo.registry.config import resolve
    from ganzoo.registry.host import PluginHost

    host = PluginHost(entry_points=[])
    assert [resolve([*TINY, *items], host).train.betas for _, items in combos] == [(0.0, 0.9), (0.5, 0.99)]


def test_expand_is_the_cartesian_product():
    combos = expand(["train.steps=1"], ["a=1,2", "b=x,y,z"])
    assert [label for label, _ in combos] == ["a=1 b=x", "a=1 b=y", "a=1 b=z", "a=2 b=x", "a=2 b=y", "a=2 b=z"]
    assert combos[0][1] == ["train.steps=1", "a=1", "b=x"]
    assert expand(["x=1"], []) == [("base", ["x=1"])]
    with pytest.raises(ConfigError, match="key=a,b"):
        expand([], ["a="])


def test_alternate_times_each_function_once_per_round():
    calls = []
    stats = alternate({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, device=torch.device("cpu"), warmup=1, rounds=3)
    assert calls == ["a", "b"] * 4 and len(stats["a"].times) == 3
    s = Stats((1.0, 2.0, 3.0, 4.0, 100.0))
    assert s.median == 3.0 and s.iqr == pytest.approx(2.0) and s.spread == pytest.approx(2.0 / 3.0)


def test_each_mode_is_its_own_function_and_refuses_what_it_cannot_do(host, capsys):
    """throughput, vs_reference and to_quality share the expansion and the JSON writer; the command picks one."""
    from ganzoo.bench.runner import Output, throughput, to_quality

    with pytest.raises(ConfigError, match="--rounds must be at least 1"):
        throughput(TINY, host, settings=Settings(rounds=0))
    with pytest.raises(ConfigError, match=r"--eval-every >= 1 and --budget-minutes > 0 \(got 0 and 10\)"):
        to_quality(TINY, host, "class_acc=0.9", eval_every=0)
    with pytest.raises(ConfigError, match="--fail-slower PCT needs --compare FILE"):
        throughput(TINY, host, output=Output(fail_slower=5.0))
    assert main(["bench", *TINY, "--to-quality", "class_acc=0.9", "--vs-reference"]) == 2
    assert "give one of them" in capsys.readouterr().err

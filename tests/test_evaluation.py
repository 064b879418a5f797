"""Offline evaluation: the metrics on known cases, eval/compare/sweep commands, train.eval_every."""

import json

import pytest
import torch

import ganzoo
from ganzoo.cli import main
from ganzoo.evaluation.scoring import score
from ganzoo.evaluation.evaluator import get_evaluator
from ganzoo.runs.launch import start

K = 4


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def data():
    from ganzoo_plugins.datasets.synthetic import Synthetic

    # Noisier than the default so that classes have a real spread.
    base = Synthetic(Synthetic.Config(num_classes=K, size=8, n=1600, seed=3)).load()
    noise = 0.3 * torch.randn(base.images.shape, generator=torch.Generator().manual_seed(1))
    return ganzoo.ImageData((base.images + noise).clamp(-1, 1), base.labels, base.classes)


class PoolGenerator(ganzoo.Generator):
    """Returns real images of the requested class from a pool: a perfect generator, or a broken one."""

    name = "pool"

    def __init__(self, images, labels, mode="real"):
        torch.nn.Module.__init__(self)
        self.images, self.labels, self.mode = images, labels, mode
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    @property
    def z_dim(self):
        return 2

    def forward(self, z, labels):
        out = []
        for i, y in enumerate(labels.tolist()):
            if self.mode == "shuffled":
                y = int(torch.randint(0, K, (1,)))
            pool = self.images[self.labels == y]
            idx = 0 if self.mode == "collapsed" else int(torch.randint(0, len(pool), (1,)))
            out.append(pool[idx])
        return torch.stack(out)


@pytest.fixture(scope="module")
def evaluator(data, tmp_path_factory):
    return get_evaluator(data, cache=False)


def _gen(data, mode):
    return PoolGenerator(data.images[800:], data.labels[800:], mode)


def test_evaluator_learns_the_real_data(evaluator):
    assert evaluator.accuracy > 0.9


def test_real_data_scores_near_the_floor(data, evaluator):
    r = score(_gen(data, "real"), data, evaluator, n=400)
    assert r["fd_ratio"] < 2.0
    assert r["class_acc"] > 0.9
    assert 0.8 < r["diversity"] < 1.25


def test_collapsed_set_has_diversity_near_zero(data, evaluator):
    r = score(_gen(data, "collapsed"), data, evaluator, n=400)
    assert r["diversity"] < 0.05 and r["diversity_min"] < 0.05
    assert r["fd_ratio"] > 3.0


def test_shuffled_labels_give_chance_accuracy(data, evaluator):
    torch.manual_seed(0)
    r = score(_gen(data, "shuffled"), data, evaluator, n=400)
    assert abs(r["class_acc"] - 1 / K) < 0.1


def test_evaluator_is_cached_by_dataset_hash(data, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path))
    first = get_evaluator(data)
    files = list((tmp_path / "evaluators").glob("*.safetensors"))
    assert [f.stem for f in files] == [first.key]
    again = get_evaluator(data)
    assert again.accuracy == first.accuracy
    assert all(torch.equal(a, b) for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()))
    other = ganzoo.ImageData(data.images.flip(0), data.labels.flip(0), data.classes)
    assert get_evaluator(other, cache=False).key != first.key


def test_eval_every_logs_quality_and_keeps_resume_exact(host, tiny):
    run_dir = start(tiny("train.steps=2", "train.eval_every=1", "train.eval_n=40"), host)
    lines = [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()]
    evals = [l for l in lines if "eval" in l]
    assert [e["step"] for e in evals] == [1, 2]
    assert {"fd", "fd_floor", "kid", "class_acc", "diversity", "evaluator_acc"} <= set(evals[0]["eval"])
    assert (run_dir / "quality.png").stat().st_size > 1000
    plain = start(tiny("train.steps=2", out="plain"), host)
    strip = lambda d: [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines() if "eval" not in l]
    assert [{k: v for k, v in l.items() if k != "time"} for l in strip(run_dir)] == [{k: v for k, v in l.items() if k != "time"} for l in strip(plain)]


def test_eval_compare_and_sweep_commands(host, tiny, tmp_path, capsys):
    a = start(tiny("train.steps=1", out="a"), host)
    b = start(tiny("train.steps=1", "train.lr_d=0.0003", out="b"), host)
    assert main(["eval", str(a), "--n", "40", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 <= result["class_acc"] <= 1 and result["fd_floor"] >= 0
    assert (a / "eval.json").is_file()
    assert main(["compare", str(a), str(b), "--markdown"]) == 0
    table = capsys.readouterr().out
    assert "train.lr_d" in table and "0.0003" in table and "| a |" in table and "| b |" in table

    sweep_dir = tmp_path / "sweep"
    args = ["sweep", *[t for t in tiny("train.steps=1") if not t.startswith("out=")], "critic.norm=batch,layer", f"out={sweep_dir}", "--n", "40", "--markdown"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "critic.norm=layer" in captured.out and "batch-coupled" in captured.err
    assert (sweep_dir / "critic.norm=layer" / "eval.json").is_file()
    assert main(args) == 0  # a second call resumes: the finished run is skipped
    assert "already finished" in capsys.readouterr().err

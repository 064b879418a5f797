"""Offline evaluation: the metrics on known cases, eval/compare/sweep commands, train.eval_every."""

import json

import pytest
import torch

import ganzoo
from ganzoo.cli import main
from ganzoo.evaluation.scoring import score
from ganzoo.evaluation.evaluator import get_evaluator, split
from ganzoo.evaluation.reference import reference
from ganzoo.runs.launch import start
from helpers import final_state

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
    train, _ = split(data.labels)  # real images the reference halves (the held-out split) do not contain
    return PoolGenerator(data.images[train], data.labels[train], mode)


def test_evaluator_learns_the_real_data(evaluator):
    assert evaluator.accuracy > 0.9


def test_the_split_holds_out_a_fifth_of_each_class_and_the_reference_halves_are_disjoint(data, evaluator):
    train, held = split(data.labels)
    assert set(train.tolist()).isdisjoint(held.tolist()) and len(train) + len(held) == len(data.labels)
    for c in range(K):
        assert (data.labels[held] == c).sum() == round(0.2 * (data.labels == c).sum().item())
    labels = torch.tensor([0] * 7 + [1] * 2 + [2])  # small classes keep at least one training image
    train, held = split(labels)
    assert sorted(labels[held].tolist()) == [0] and sorted(labels[train].tolist()) == [0] * 6 + [1, 1, 2]
    a, b = reference(data, evaluator)
    assert len(a) + len(b) == 320 and abs(len(a) - len(b)) <= 1


def test_real_data_scores_near_the_floor(data, evaluator):
    r = score(_gen(data, "real"), data, evaluator, n=300, ci=True)
    assert r["n"] == 300 and r["n_ref"] == 150
    assert r["ci"]["fd_ratio"][0] <= 1.0 <= r["ci"]["fd_ratio"][1]
    assert r["ci"]["kid"][0] <= r["kid_floor"] <= r["ci"]["kid"][1]
    assert r["class_acc"] > 0.9
    assert 0.8 < r["diversity"] < 1.25


def test_collapsed_set_has_diversity_near_zero(data, evaluator):
    r = score(_gen(data, "collapsed"), data, evaluator, n=300)
    assert r["diversity"] < 0.05 and r["diversity_min"] < 0.05
    assert r["fd_ratio"] > 3.0
    assert r["recall"] < 0.5 * r["recall_floor"] and r["coverage"] < 0.5 * r["coverage_floor"]


def test_shuffled_labels_give_chance_accuracy(data, evaluator):
    torch.manual_seed(0)
    r = score(_gen(data, "shuffled"), data, evaluator, n=300)
    assert abs(r["class_acc"] - 1 / K) < 0.1


def test_n_beyond_the_reference_is_refused(data, evaluator):
    with pytest.raises(ganzoo.ConfigError, match="320 held-out real images"):
        score(_gen(data, "real"), data, evaluator, n=400)


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
    lines = [json.loads(r) for r in (run_dir / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in lines if "eval" in r]
    assert [e["step"] for e in evals] == [1, 2]
    assert {"fd", "fd_floor", "kid", "class_acc", "diversity", "evaluator_acc"} <= set(evals[0]["eval"])
    assert (run_dir / "quality.png").stat().st_size > 1000
    plain = start(tiny("train.steps=2", out="plain"), host)

    def step_lines(run):  # metrics.jsonl without the eval lines and the wall-clock time
        return [{k: v for k, v in r.items() if k != "time"} for r in final_state(run)[2] if "eval" not in r]

    assert step_lines(run_dir) == step_lines(plain)


def test_eval_compare_and_sweep_commands(host, tiny, tmp_path, capsys):
    a = start(tiny("train.steps=1", out="a"), host)
    b = start(tiny("train.steps=1", "train.lr_d=0.0003", out="b"), host)
    assert main(["eval", str(a), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 <= result["class_acc"] <= 1 and result["fd_floor"] >= 0 and result["n"] == 12  # all 12 held-out images of the 64
    assert (a / "eval.json").is_file()
    assert main(["compare", str(a), str(b), "--markdown"]) == 0
    table = capsys.readouterr().out
    assert "train.lr_d" in table and "0.0003" in table and "| a |" in table and "| b |" in table

    sweep_dir = tmp_path / "sweep"
    args = [
        "sweep",
        *[t for t in tiny("train.steps=1") if not t.startswith("out=")],
        "critic.norm=batch,layer",
        f"out={sweep_dir}",
        "--markdown",
    ]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "critic.norm=layer" in captured.out and "batch-coupled" in captured.err
    assert (sweep_dir / "critic.norm=layer" / "eval.json").is_file()
    assert main(args) == 0  # a second call resumes: the finished run is skipped
    assert "already finished" in capsys.readouterr().err


# -- ganzoo eval FILE.npz data=NAME ------------------------------------------------------------------
TINY_DATA = ["data=synthetic", "data.n=64", "data.size=8", "data.num_classes=3"]


def _npz(path, images, labels, **extra):
    import numpy as np

    np.savez(path, images=images, labels=labels, **extra)
    return path


def test_eval_scores_an_npz_as_it_scores_the_run(host, tiny, tmp_path, capsys):
    run = start(tiny("train.steps=2", "train.eval_every=0"), host)
    samples = tmp_path / "s.npz"
    assert main(["sample", str(run), "--per-class", "8", "--out", str(samples)]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--json"]) == 0
    of_run = json.loads(capsys.readouterr().out)
    before = samples.read_bytes()
    assert main(["eval", str(samples), *TINY_DATA, "--json"]) == 0
    of_file = json.loads(capsys.readouterr().out)
    assert set(of_file) == set(of_run) and of_file["source"] == str(samples) and of_file["checkpoint"] is None
    assert of_file["n"] == 12 and of_file["evaluator_acc"] == of_run["evaluator_acc"]  # the same judge and references
    assert of_file["fd_floor"] == of_run["fd_floor"] and of_file["kid_floor"] == of_run["kid_floor"]
    assert samples.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["run", "s.npz"]  # read only, nothing written
    assert main(["eval", str(samples), *TINY_DATA]) == 0  # the table
    assert "KID" in capsys.readouterr().out


def test_eval_of_real_images_and_of_noise_is_ordered(tmp_path, capsys):
    from ganzoo_plugins.datasets.synthetic import Synthetic

    options = ["data=synthetic", "data.n=800", "data.size=8", "data.num_classes=4"]
    data = Synthetic(Synthetic.Config(n=800, size=8, num_classes=4)).load()
    train, _ = split(data.labels)
    x = data.images[train]
    scores = []
    for name, sigma in (("real", 0.0), ("noisy", 0.3)):
        images = ((x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1) + 1) * 127.5
        assert (
            main(
                [
                    "eval",
                    str(_npz(tmp_path / f"{name}.npz", images.round().to(torch.uint8).numpy(), data.labels[train].numpy())),
                    *options,
                    "--json",
                ]
            )
            == 0
        )
        scores.append(json.loads(capsys.readouterr().out))
    assert scores[0]["n"] == 160 and scores[0]["kid"] < scores[1]["kid"] and scores[0]["fd_ratio"] < scores[1]["fd_ratio"]


@pytest.mark.parametrize(
    "case,expected",
    [
        ("channels", ["are 3x8x8", "data=synthetic has 1x8x8 images in 3 classes"]),
        ("nhwc", ["look like N x H x W x C", "transpose(0, 3, 1, 2)"]),
        ("classes", ["labels in", "run from 0 to 6", "labels 0..2"]),
        ("float", ["are float32", "((x + 1) * 127.5).round()"]),
        ("missing", ["has no 'labels' entry", "it holds: images"]),
        ("not-npz", ["could not be read as an npz file"]),
        ("no-data", ["needs the dataset to score against", "data=mnist5k"]),
        ("other-key", ["takes only data=NAME", "'critic'"]),
        ("absent", ["does not exist"]),
    ],
)
def test_eval_refuses_a_file_that_does_not_fit_in_one_paragraph(tmp_path, capsys, case, expected):
    import numpy as np

    good = np.zeros((12, 1, 8, 8), np.uint8)
    labels = np.arange(12) % 3
    path = tmp_path / "x.npz"
    args = TINY_DATA
    if case == "channels":
        _npz(path, np.zeros((12, 3, 8, 8), np.uint8), labels)
    elif case == "nhwc":
        _npz(path, good.transpose(0, 2, 3, 1), labels)
    elif case == "classes":
        _npz(path, good, np.arange(12) % 7)
    elif case == "float":
        _npz(path, good.astype(np.float32), labels)
    elif case == "missing":
        np.savez(path, images=good)
    elif case == "not-npz":
        path.write_text("not a zip")
    elif case == "no-data":
        _npz(path, good, labels)
        args = []
    elif case == "other-key":
        _npz(path, good, labels)
        args = [*TINY_DATA, "critic=dcgan"]
    before = path.read_bytes() if path.exists() else None
    assert main(["eval", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 4  # one paragraph (wrapped by the console)
    flat = " ".join(err.split())
    for text in expected:
        assert text in flat, (text, flat)
    assert (path.read_bytes() if path.exists() else None) == before


def test_ci_and_cas(host, tiny, capsys):
    run = start(tiny("train.steps=2"), host)
    assert main(["eval", str(run), "--ci", "--cas", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    for key in ("class_acc", "kid", "fd_ratio", "precision", "recall", "density", "coverage", "diversity"):
        lo, hi = r["ci"][key]
        assert lo <= r[key] <= hi and hi > lo, key
    assert (
        0 <= r["cas"] <= 1 and r["cas_real"] == r["evaluator_acc"] and r["cas_images"] == 52
    )  # as many as the evaluator's training images


def test_compare_over_seeds_gives_intervals_and_the_probability_of_improvement(host, tiny, capsys):
    from ganzoo.storage.folder import write_eval

    made = []
    for lr, seed, acc in (("0.0001", 0, 0.5), ("0.0001", 1, 0.7), ("0.0001", 2, 0.6), ("0.0003", 0, 0.4), ("0.0003", 1, 0.65)):
        run = start(tiny("train.steps=1", f"train.lr_d={lr}", f"seed={seed}", out=f"lr{lr}-s{seed}"), host)
        write_eval(run, {"class_acc": acc, "kid": 1.0 - acc, "diversity": 1.0, "fd_ratio": 2.0, "recall": 0.5})  # scores set by hand
        made.append(str(run))
    assert main(["compare", *made, "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| train.lr_d=0.0001 | 0,1,2 | 0.600 ± 0.248 |" in out  # mean 0.6, sd 0.1, t(2 df) 4.303 / sqrt(3)
    assert "| train.lr_d=0.0003 | 0,1 | 0.525 ± 1.588 |" in out  # mean 0.525, sd 0.1768, t(1 df) 12.706 / sqrt(2)
    # A = 0.0001 (0.5, 0.7, 0.6) against B = 0.0003 (0.4, 0.65): A wins 4 of the 6 pairs on class consistency, and KID agrees
    assert "| train.lr_d=0.0001 | train.lr_d=0.0003 | 0.67 | 0.50 | 0.67 |" in out

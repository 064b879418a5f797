"""Promise 6 (RELIABILITY.md): hostile input ends in a valid config or one clean error, never a traceback.

- The override parser is fuzzed with hypothesis, directly (``resolve``) and through the CLI
  (``ganzoo run --dry-run``, which also builds the networks and runs them once on two samples).
- Image folders with unreadable, truncated, odd-mode or non-image files, empty class folders.
- An unwritable ``out=`` is refused before training starts, also for root.

CI runs a fixed (derandomised) set of examples; ``GANZOO_SLOW=full`` runs 10x more, randomly.
"""

from __future__ import annotations

import json
import os

import pytest
import torch
from hypothesis import HealthCheck, Phase, event, find, given, settings
from hypothesis import strategies as st

from helpers import TINY, override
from ganzoo.registry.build import load_data
from ganzoo.cli import main
from ganzoo.registry.config import TrainConfig, resolve
from ganzoo.errors import DataError, GanzooError
from ganzoo.registry.host import PluginHost
from ganzoo.registry.config import flatten
from ganzoo.runs.launch import start

FULL = os.environ.get("GANZOO_SLOW") == "full"
FUZZ = settings(
    max_examples=3000 if FULL else 300,
    deadline=None,
    derandomize=not FULL,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CLI_FUZZ = settings(FUZZ, max_examples=600 if FULL else 60)

_HOST = PluginHost(entry_points=[])
COMPONENTS = {
    slot: sorted(_HOST.components("dataset" if slot == "data" else slot)) for slot in ("critic", "generator", "constraint", "loss", "data")
}
OPTION_KEYS = sorted(
    {
        f"{slot}.{f}"
        for slot, names in COMPONENTS.items()
        for n in names
        for f in _HOST.get("dataset" if slot == "data" else slot, n).Config.model_fields
    }
    | {f"train.{f}" for f in TrainConfig.model_fields}
)
KEYS = [*COMPONENTS, *OPTION_KEYS, "seed", "out", "preset", "resume", "resume.allow"]
NAMES = sorted({n for names in COMPONENTS.values() for n in names} | {"layer", "batch", "none", "embed_channel", "seed", "default"})
SPECIAL = [
    "",
    " ",
    "nan",
    "inf",
    "-inf",
    "1e308",
    "-1",
    "0",
    "1e-400",
    "99999999999999999999999",
    "true",
    "None",
    "[]",
    "[1, 2]",
    ",",
    "0.5,0.9",
    "a=b",
    "=",
    "..",
    "\u00e9\u6f22",
    "0x10",
    "1_000",
    "[",
    "]",
]


def _mutated_key() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(KEYS),
        st.builds(lambda k, s: k + s, st.sampled_from(KEYS), st.sampled_from([".x", ".", "..", "_", " ", "s"])),
        st.text(max_size=12),
    )


def _value(small: bool) -> st.SearchStrategy[str]:
    numbers = st.integers(0, 40) if small else st.integers(-(10**30), 10**30)
    floats = st.floats(0, 1, allow_nan=False) if small else st.floats(allow_nan=True, allow_infinity=True)
    return st.one_of(
        st.sampled_from(NAMES),
        st.sampled_from(SPECIAL),
        numbers.map(str),
        floats.map(repr),
        st.text(max_size=10) if not small else st.sampled_from(["x", "layr"]),
    )


def _items(small: bool) -> st.SearchStrategy[list[str]]:
    if small:  # mostly plausible choices, so that many examples get as far as building the networks
        pick = st.sampled_from(sorted(COMPONENTS)).flatmap(lambda slot: st.sampled_from(COMPONENTS[slot]).map(lambda n: f"{slot}={n}"))
        option = st.builds(lambda k, v: f"{k}={v}", st.sampled_from(OPTION_KEYS), st.one_of(st.integers(1, 40).map(str), _value(True)))
        return st.lists(st.one_of(pick, option, option), max_size=4)
    pair = st.builds(lambda k, v: f"{k}={v}", _mutated_key(), _value(False))
    return st.lists(st.one_of(pair, st.text(max_size=20)), max_size=6)


@FUZZ
@given(items=_items(small=False))
def test_resolve_gives_a_valid_config_or_a_clean_error(items):
    try:
        cfg = resolve(items, _HOST)
    except GanzooError as exc:
        assert str(exc).strip()
        return
    # A valid config is JSON and survives the round trip through config.json.
    text = json.dumps(cfg.to_dict())
    again = resolve(flatten(json.loads(text)), _HOST, use_preset=False)
    assert json.dumps(again.to_dict()) == text


TINY_DRY = override(TINY, "data.n=8", "data.num_classes=2", "generator.z_dim=4")


def _resolves(items: list[str]) -> bool:
    try:
        resolve(items, _HOST)
        return True
    except GanzooError:
        return False


def test_the_fuzzers_reach_configurations_that_resolve():
    """The fuzz tests pass on "a valid config or a clean error", which a resolver that refused every
    input would pass too: each strategy must also produce inputs (not only the empty list) that resolve."""
    search = settings(max_examples=2000, database=None, derandomize=True, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    hostile = find(_items(small=False), lambda items: len(items) >= 1 and _resolves(items), settings=search)
    plausible = find(_items(small=True), lambda items: len(items) >= 3 and _resolves(override(TINY_DRY, *items)), settings=search)
    assert _resolves(hostile) and _resolves(override(TINY_DRY, *plausible))


@CLI_FUZZ
@given(items=_items(small=True))
def test_cli_dry_run_exits_0_or_2_without_a_traceback(items, capsys):
    torch.set_num_threads(1)
    try:
        code = main(["run", "--dry-run", "--json", *override(TINY_DRY, *items)])
    except SystemExit as exc:  # argparse: an item that looks like an --option
        code = exc.code
    out, err = capsys.readouterr()
    event(f"exit {code}")
    assert code in (0, 2) and "Traceback" not in err
    if code == 0:
        assert json.loads(out)["params"]["critic"] > 0
    elif err.startswith("error:"):
        assert err.count("error:") == 1


@pytest.mark.parametrize(
    "items,fragment",
    [
        (["data.size=4"], "critic 'layernorm_cond' average-pools the map 3 times"),  # would pool to 0x0: refused when built
        (["data.size=10"], "multiple of 4"),  # the critic takes 10 px, the resnet generator does not
        (["critic.norm=batch"], "batch-coupled"),
        (["train.lr_d=nan"], "train.lr_d"),
        (["seed=99999999999999999999999"], "seed must be in"),
        (["\u00e9=1"], "Unknown key"),
    ],
)
def test_cli_examples_fail_cleanly_before_any_file_is_written(items, fragment, tmp_path, capsys):
    assert main(["run", *override(TINY_DRY, *items), f"out={tmp_path / 'run'}"]) == 2
    assert fragment in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["run", "sweep", "bench", "tune"])
def test_a_key_given_twice_is_refused_naming_both_values(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    twice = [*TINY_DRY, "train.steps=8", "train.steps=3"]
    argv = {
        "run": ["run", *twice, "out=run"],
        "sweep": ["sweep", *twice, "constraint=gp,clip", "out=sweep", "--no-eval"],
        "bench": ["bench", *twice, "--rounds", "1"],
        "tune": ["tune", *twice, "--space", "train.lr_d=log:1e-5..1e-3", "--objective", "class_consistency:max", "--study", "study"],
    }[command]
    if command == "tune":
        pytest.importorskip("optuna")
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "train.steps is given twice: train.steps=8 and train.steps=3" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_out_and_resume_expand_the_home_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(["run", *TINY_DRY, "train.steps=1", "train.sample_every=0", "out=~/runs/first"]) == 0
    run = tmp_path / "home" / "runs" / "first"
    assert (run / "config.json").is_file() and not (tmp_path / "~").exists()
    assert json.loads((run / "config.json").read_text())["config"]["out"] == str(run)
    assert main(["run", "resume=~/runs/first", "train.steps=2"]) == 0
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]


def test_a_name_in_other_case_gets_a_did_you_mean(capsys):
    assert main(["show", "critic", "DCGAN"]) == 2
    assert "Unknown critic 'DCGAN'. Did you mean 'dcgan'?" in capsys.readouterr().err


# -- unwritable out= --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "where",
    [
        "/sys/ganzoo-test-run",  # sysfs refuses new entries, even to root
        "/proc/self/ganzoo-test-run",  # so does procfs
        "FILE/run",  # under a regular file
        "FILE",  # a regular file itself
        "bad\0name",  # a NUL byte
    ],
)
def test_unwritable_out_is_refused_before_training(where, host, tmp_path, monkeypatch):
    from ganzoo.errors import GanzooError
    from ganzoo.training.loop import Trainer

    (tmp_path / "FILE").write_text("x")
    out = where.replace("FILE", str(tmp_path / "FILE")) if "FILE" in where else where
    monkeypatch.setattr(Trainer, "fit", lambda self, recorder=None: pytest.fail("training started"))
    with pytest.raises(GanzooError, match="Cannot create the run folder|is a file, not a folder|not a usable folder name") as err:
        start([*TINY_DRY, "train.progress=false", f"out={out}"], host)
    assert "out=" in str(err.value)
    assert (tmp_path / "FILE").read_text() == "x"


# -- image folders ----------------------------------------------------------------------------
def _img(path, mode="RGB", size=(10, 12)):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size).save(path)


def _load(host, root, *extra):
    return load_data(resolve(["data=imagefolder", f"data.root={root}", "data.size=8", *extra], host), host)


def test_imagefolder_handles_odd_modes_and_ignores_non_images(host, tmp_path):
    _img(tmp_path / "a" / "gray.png", "L")
    _img(tmp_path / "a" / "alpha.png", "RGBA", (30, 7))
    _img(tmp_path / "b" / "palette.png", "P")
    _img(tmp_path / "b" / "deeper" / "nested.png")  # files in subfolders of a class belong to it
    (tmp_path / "b" / "README.txt").write_text("not an image")  # skipped by extension
    (tmp_path / "b" / ".DS_Store").write_bytes(b"\0\1")
    data = _load(host, tmp_path)
    assert data.images.shape == (4, 3, 8, 8) and data.labels.tolist() == [0, 0, 1, 1]
    assert data.images.min() >= -1 and data.images.max() <= 1


def test_imagefolder_truncated_image_is_named(host, tmp_path):
    _img(tmp_path / "a" / "ok.png")
    _img(tmp_path / "a" / "cut.png", size=(64, 64))
    cut = tmp_path / "a" / "cut.png"
    cut.write_bytes(cut.read_bytes()[:60])
    with pytest.raises(DataError, match="cut.png"):
        _load(host, tmp_path)


def test_imagefolder_empty_class_is_named(host, tmp_path):
    _img(tmp_path / "cats" / "x.png")
    (tmp_path / "dogs").mkdir()
    with pytest.raises(DataError, match="dogs"):
        _load(host, tmp_path)


def test_imagefolder_with_only_files_and_no_class_folders(host, tmp_path):
    _img(tmp_path / "x.png")
    with pytest.raises(DataError, match="subfolder per class"):
        _load(host, tmp_path)

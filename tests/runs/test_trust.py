"""Trust on any machine: a run folder is ganzoo's only when ganzoo made it, file-system surprises end
in one paragraph with nothing damaged, and SIGTERM or Ctrl-C stop cleanly.

Each situation is created for real: a full disk is a small tmpfs, a read-only folder is a
read-only bind mount (as root; a chmod otherwise), and the signals are sent to real processes.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

import pytest

from helpers import TINY, assert_same_run, fill, override, read_only, run_cli, small_disk, snapshot, start_cli
from ganzoo.cli import main
from ganzoo.registry.host import PluginHost
from ganzoo.runs.launch import start
from ganzoo.storage import checkpoint

RUN = [*TINY, "train.checkpoint_every=1", "train.sample_every=0"]


def call(argv, capsys) -> tuple[int, str]:
    """``ganzoo ARGV`` in this process: the exit code and stderr on one line."""
    code = main(argv)
    err = capsys.readouterr().err
    return code, " ".join(err.split())


# -- a run folder is ganzoo's only when ganzoo made it -----------------------------------------------------


def test_a_new_run_refuses_a_folder_that_is_not_empty_and_touches_nothing(tmp_path, capsys):
    """The issue's example: a finished run whose config.json was moved away, then a new run on it."""
    run = tmp_path / "run"
    assert main(["run", *RUN, "train.steps=3", f"out={run}"]) == 0
    (run / "config.json").rename(tmp_path / "config.json")
    before = snapshot(run)
    code, err = call(["run", *RUN, "train.steps=2", f"out={run}"], capsys)
    assert code == 2 and "Traceback" not in err
    assert "already exists and is not empty" in err and "checkpoints" in err and "metrics.jsonl" in err and "another out=DIR" in err
    assert snapshot(run) == before  # checkpoints, metrics (3 lines), samples: all as they were


def test_a_new_run_goes_into_an_empty_folder_and_a_finished_one_points_at_resume(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["run", *RUN, "train.steps=1", f"out={empty}"]) == 0
    code, err = call(["run", *RUN, "train.steps=1", f"out={empty}"], capsys)
    assert code == 2 and f"continue it with resume={empty}" in err


def test_a_second_sweep_on_the_same_folder_is_refused_while_the_first_runs(tmp_path, capsys):
    from ganzoo.storage.folder import lock

    root = tmp_path / "sweep"
    root.mkdir()
    with lock(root):  # the first sweep holds the folder
        code, err = call(["sweep", *RUN, "train.steps=1", "constraint=gp,clip", f"out={root}", "--no-eval"], capsys)
    assert code == 2 and "already running" in err and "Traceback" not in err
    assert sorted(p.name for p in root.iterdir()) == [".lock"]  # nothing was trained or deleted


def test_a_sweep_never_deletes_a_run_folder_and_continues_one_without_a_checkpoint(tmp_path, capsys):
    root = tmp_path / "sweep"
    args = ["sweep", *override(RUN, "train.checkpoint_every=0"), "train.steps=2", "constraint=gp,clip", f"out={root}", "--no-eval"]
    assert main(args) == 0
    gp = root / "constraint=gp"
    shutil.rmtree(gp / "checkpoints")  # as if interrupted before its first checkpoint
    (gp / "notes.txt").write_text("mine")  # and the user left a file there
    foreign = root / "constraint=clip"
    shutil.rmtree(foreign)
    foreign.mkdir()
    (foreign / "data.csv").write_text("1,2")  # a folder ganzoo did not make, where a run would go
    capsys.readouterr()
    assert main(args) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert (gp / "notes.txt").read_text() == "mine" and checkpoint.list_checkpoints(gp / "checkpoints")  # resumed, not deleted
    assert (foreign / "data.csv").read_text() == "1,2" and sorted(p.name for p in foreign.iterdir()) == ["data.csv"]
    assert "refused" in err and "constraint=clip" in err and "not empty" in err


def test_a_sweep_rerun_with_other_settings_is_refused_with_the_differences(tmp_path, capsys):
    """The issue's example: the shared settings changed, yet the old runs were reported as finished."""
    root = tmp_path / "sweep"
    args = ["sweep", *RUN, "train.steps=1", "constraint=gp,clip", f"out={root}", "--no-eval"]
    assert main(args) == 0
    before = snapshot(root)
    for changed, diff in (("train.lr_d=0.005", "train.lr_d: 0.0001 -> 0.005"), ("critic.width=4", "critic.width: 2 -> 4")):
        code, err = call([*override(args[:-1], changed), "--no-eval"], capsys)
        assert code == 2 and "Traceback" not in err and "already finished" not in err
        assert f"constraint=gp: {diff}" in err and f"constraint=clip: {diff}" in err and "another out=DIR" in err
        assert snapshot(root) == before  # nothing trained, nothing rewritten
    code, err = call(args, capsys)  # the settings it was made with: resumed and shown as before
    assert code == 0 and err.count("already finished") == 2


# -- the file system says no -----------------------------------------------------------------------------


def test_a_full_disk_during_a_checkpoint_write_stops_cleanly_and_keeps_the_old_ones(tmp_path, can_mount, capsys):
    with small_disk(tmp_path / "disk", "8m", can_mount) as disk:
        run = disk / "run"
        assert main(["run", *RUN, "train.steps=2", f"out={run}"]) == 0
        fill(disk, leave=200_000)  # room for a metrics line, not for a checkpoint (~0.9 MB)
        before = {p.name: snapshot(p) for p in checkpoint.list_checkpoints(run / "checkpoints")}
        code, err = call(["run", f"resume={run}", "train.steps=4"], capsys)
        assert code == 4 and "Traceback" not in err
        assert "no space left on device" in err and "step-00000002" in err and f"resume={run}" in err
        after = {p.name: snapshot(p) for p in checkpoint.list_checkpoints(run / "checkpoints")}
        assert after == before  # the previous checkpoints are intact
        assert not list((run / "checkpoints").glob(".*"))  # and no temporary folder is left
        # Resume on the still-full disk: refused before anything is written; metrics.jsonl is not cut back.
        (disk / "filler").write_bytes(b"\0" * (len((disk / "filler").read_bytes()) + shutil.disk_usage(disk).free))
        metrics = (run / "metrics.jsonl").read_bytes()
        code, err = call(["run", f"resume={run}", "train.steps=4"], capsys)
        assert code == 4 and "no space left on device" in err and "Traceback" not in err
        assert (run / "metrics.jsonl").read_bytes() == metrics
        # With space again, the run continues.
        (disk / "filler").unlink()
        assert main(["run", f"resume={run}", "train.steps=4"]) == 0


def test_a_read_only_run_folder_is_refused_on_resume_and_scored_by_eval_without_losing_the_scores(tmp_path, can_mount, capsys, monkeypatch):
    run = tmp_path / "run"
    assert main(["run", *RUN, "train.steps=2", f"out={run}"]) == 0
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    before = snapshot(run)
    with read_only(run, can_mount):
        code, err = call(["run", f"resume={run}", "train.steps=3"], capsys)
        assert code == 4 and "read-only" in err and "Traceback" not in err
        code = main(["eval", str(run), "--n", "12", "--json"])
        captured = capsys.readouterr()
        assert code == 4 and "Traceback" not in captured.err
        assert json.loads(captured.out)["n"] == 12  # the scores were printed before saving failed
        assert "could not be saved" in " ".join(captured.err.split())
    assert snapshot(run) == before


def test_eval_with_a_read_only_cache_scores_anyway(tmp_path, can_mount, capsys, monkeypatch):
    run = tmp_path / "run"
    assert main(["run", *RUN, "train.steps=1", f"out={run}"]) == 0
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("GANZOO_CACHE", str(cache))
    with read_only(cache, can_mount):
        code, err = call(["eval", str(run), "--n", "12"], capsys)
    assert code == 0 and "could not be cached" in err and "Traceback" not in err
    assert json.loads((run / "eval.json").read_text())["n"] == 12


def test_checkpoints_that_is_a_file_is_refused_before_metrics_are_cut(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", *RUN, "train.steps=3", f"out={run}"]) == 0
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints").write_text("not a folder")
    before = snapshot(run)
    code, err = call(["run", f"resume={run}"], capsys)
    assert code == 2 and "checkpoints should be a folder" in err and "Traceback" not in err
    assert snapshot(run) == before


def test_a_tensorboard_that_is_a_file_is_refused_with_the_layout_before_training(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    run = tmp_path / "run"
    assert main(["run", *RUN, "train.steps=2", f"out={run}"]) == 0
    (run / "tensorboard").write_text("my notes, not a folder")
    before = snapshot(run)
    code, err = call(["run", f"resume={run}", "train.steps=3", "train.tensorboard=true"], capsys)
    assert code == 2 and "tensorboard should be a folder of the run but is a file" in err and "Traceback" not in err
    assert snapshot(run) == before  # config.json, metrics.jsonl and the checkpoints as they were


def test_sample_names_the_damaged_checkpoint_it_skipped(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", *RUN, "train.steps=2", f"out={run}"]) == 0
    newest = checkpoint.list_checkpoints(run / "checkpoints")[-1]
    (newest / checkpoint.WEIGHTS).write_bytes((newest / checkpoint.WEIGHTS).read_bytes()[:200])  # cut short
    code, err = call(["sample", str(run), "--per-class", "1", "--out", str(tmp_path / "s.npz")], capsys)
    assert code == 0 and "Traceback" not in err
    assert "skipped a damaged checkpoint" in err and str(newest) in err and "Using step-00000001 instead" in err


def test_compare_reads_a_cut_metrics_line_and_a_corrupt_eval_json(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["run", *RUN, "train.steps=3", f"out={run}"]) == 0
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 4, "loss_d": 0.1, "wass')  # a process killed mid-write
    (run / "eval.json").write_text("{not json")
    code = main(["compare", str(run), "--markdown"])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err
    row = out.splitlines()[-1]
    assert "| 3 |" in row  # three whole steps; the cut line and the damaged scores are left out


@pytest.mark.parametrize("content", ["{}", "[1, 2]", '{"config": "x"}', '{"config": {}, "data": {}}'])
@pytest.mark.parametrize("command", ["resume", "compare", "sample", "eval"])
def test_a_foreign_config_json_is_named_not_a_traceback(tmp_path, capsys, content, command):
    other = tmp_path / "other-tool"
    other.mkdir()
    (other / "config.json").write_text(content)
    argv = {
        "resume": ["run", f"resume={other}"],
        "compare": ["compare", str(other)],
        "sample": ["sample", str(other), "--out", str(tmp_path / "s.npz")],
        "eval": ["eval", str(other)],
    }[command]
    code, err = call(argv, capsys)
    assert code == 2 and "Traceback" not in err
    assert "not a ganzoo run record" in err or "is not valid JSON" in err
    assert (other / "config.json").read_text() == content and sorted(p.name for p in other.iterdir()) == ["config.json"]


# -- ganzoo sample's output paths ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "run"
    return start([*RUN, "train.steps=1", f"out={out}"], PluginHost(entry_points=[]))


def test_sample_refuses_bad_output_paths_before_writing_anything(sample_run, tmp_path, can_mount, capsys):
    (tmp_path / "file").write_text("x")
    (tmp_path / "x.npz").mkdir()
    (tmp_path / "notes.txt").write_text("my notes")
    (tmp_path / "theirs.npz").write_bytes(b"someone else's file")
    (tmp_path / "theirs.png").write_bytes(b"not ours")
    cases = {
        "under a file": ["--out", str(tmp_path / "file" / "s.npz")],
        "an existing folder named x.npz": ["--out", str(tmp_path / "x.npz")],
        "a grid that is not a png": ["--out", str(tmp_path / "a.npz"), "--grid", str(tmp_path / "notes.txt")],
        "an npz ganzoo did not write": ["--out", str(tmp_path / "theirs.npz")],
        "a png ganzoo did not write": ["--out", str(tmp_path / "b.npz"), "--grid", str(tmp_path / "theirs.png")],
        "a seed beyond 64 bits": ["--out", str(tmp_path / "c.npz"), "--seed", str(2**64)],
    }
    before = snapshot(tmp_path)
    for what, extra in cases.items():
        code, err = call(["sample", str(sample_run), *extra], capsys)
        assert code == 2 and "Traceback" not in err, (what, err)
    assert snapshot(tmp_path) == before and sorted(p.name for p in (tmp_path / "x.npz").iterdir()) == []
    ro = tmp_path / "ro"
    ro.mkdir()
    with read_only(ro, can_mount):
        code, err = call(["sample", str(sample_run), "--out", str(ro / "s.npz")], capsys)
        assert code == 4 and "Traceback" not in err and not list(ro.iterdir())
        code, err = call(["sample", str(sample_run), "--out", str(tmp_path / "ok.npz"), "--grid", str(ro / "g.png")], capsys)
        assert code == 4 and not (tmp_path / "ok.npz").exists()  # refused before the npz was written


def test_sample_replaces_its_own_outputs(sample_run, tmp_path):
    out, grid = tmp_path / "s.npz", tmp_path / "s.png"
    for seed in ("0", "1"):
        assert main(["sample", str(sample_run), "--out", str(out), "--grid", str(grid), "--seed", seed]) == 0
    assert not list(tmp_path.glob(".*"))  # no temporary file left


# -- signals and start-up -----------------------------------------------------------------------------------


def _lines(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


def test_sigterm_stops_at_a_step_boundary_writes_a_checkpoint_and_resumes_exactly(tmp_path, one_thread):
    run, steps = tmp_path / "run", 100  # long enough to be signalled mid-run (after 3 lines), short enough to resume and replay
    args = [*TINY, "train.checkpoint_every=40", "train.sample_every=0", f"train.steps={steps}", f"out={run}"]
    proc = start_cli(["run", *args])
    deadline = time.monotonic() + 120
    while _lines(run / "metrics.jsonl") < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be signalled"
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 30  # one step and a checkpoint, not the rest of the run
    err = " ".join(err.split())
    assert proc.returncode == 143 and "Traceback" not in err
    assert "Stopped by SIGTERM after generator step" in err and f"ganzoo run resume={run}" in err
    stopped = len((run / "metrics.jsonl").read_text().splitlines())
    assert [p.name for p in checkpoint.list_checkpoints(run / "checkpoints")][-1] == f"step-{stopped:08d}"
    assert not list((run / "checkpoints").glob(".*")) and not list(run.glob(".*.tmp-*"))
    # It resumes to the same result as a run that was never stopped.
    resumed = run_cli(["run", f"resume={run}"])
    assert resumed.returncode == 0, resumed.stderr
    reference = start([*args[:-1], f"out={tmp_path / 'unbroken'}"], PluginHost(entry_points=[]))
    assert_same_run(run, reference)


@pytest.mark.parametrize("delay", [0.2, 0.5, 1.0])
def test_ctrl_c_while_starting_up_is_a_clean_stop(delay):
    proc = start_cli(["list", "--combinations"])
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    # 0: it had already finished; -SIGINT: it was exiting after its work, which a shell reports as 130 too
    assert proc.returncode in (130, 0, -signal.SIGINT), err


def test_nan_is_named_as_not_a_usable_number(capsys):
    code, err = call(["run", "--dry-run", *TINY, "train.lr_g=nan"], capsys)
    assert code == 2 and "'nan' is not a number that can be used here" in err and "less than 1" not in err


# -- more of the same classes ---------------------------------------------------------------------------------


def test_bench_refuses_a_json_path_it_did_not_write_before_measuring(tmp_path, capsys, monkeypatch):
    from ganzoo.bench import runner

    monkeypatch.setattr(runner, "measure", lambda *a, **k: pytest.fail("measured before checking --json"))
    (tmp_path / "notes.json").write_text('{"mine": true}')
    code, err = call(["bench", *TINY, "--json", str(tmp_path / "notes.json"), "--rounds", "1"], capsys)
    assert code == 2 and "not a ganzoo bench result" in err
    assert (tmp_path / "notes.json").read_text() == '{"mine": true}'


def test_a_folder_holding_only_a_lock_of_an_earlier_attempt_takes_a_new_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text("process 1")
    start([*RUN, "train.steps=1", f"out={run}"], PluginHost(entry_points=[]))
    assert (run / "config.json").is_file()


def test_sample_refuses_more_images_than_memory_holds(sample_run, tmp_path, capsys):
    code, err = call(["sample", str(sample_run), "--per-class", str(10**9), "--out", str(tmp_path / "s.npz")], capsys)
    assert code == 2 and "at most 1,000,000" in err and not (tmp_path / "s.npz").exists()


def test_a_generator_that_no_longer_fits_its_checkpoint_is_named(sample_run, tmp_path, capsys):
    from safetensors.torch import save_file

    run = tmp_path / "run"
    shutil.copytree(sample_run, run)
    newest = checkpoint.list_checkpoints(run / "checkpoints")[-1]
    tensors, _, header = checkpoint.load(newest)
    tensors = {k: (v[:1] if k.startswith("generator/") and v.dim() > 1 else v) for k, v in tensors.items()}
    save_file(tensors, str(newest / checkpoint.WEIGHTS), metadata={"ganzoo": json.dumps(header)})
    state = json.loads((newest / checkpoint.STATE).read_text())
    state.pop("state_sha256")
    state["weights_sha256"] = checkpoint._sha256_file(newest / checkpoint.WEIGHTS)
    (newest / checkpoint.STATE).write_text(json.dumps({**state, "state_sha256": checkpoint._sha256_json(state)}))
    code, err = call(["sample", str(run), "--out", str(tmp_path / "s.npz")], capsys)
    assert code == 2 and "does not fit the generator" in err and "Traceback" not in err

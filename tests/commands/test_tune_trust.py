"""``ganzoo tune`` is as strict as ``ganzoo run``: it owns its study folder, checks its storage and its
plan before writing anything, reads a damaged or read-only study cleanly, and never reports a
trial's folder as another trial's run.

Most refusals need no trial; the others share one real study (:func:`study`), copied per test.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from helpers import TINY, read_only, snapshot  # noqa: E402
from ganzoo.cli import main  # noqa: E402
from ganzoo.tuning import results  # noqa: E402

FIXED = [*TINY, "train.steps=6", "train.sample_every=0"]
LR = ["--space", "train.lr_d=log:1e-5..1e-3"]
QUICK = ["--objective", "class_consistency:max", "--trial-minutes", "1", "--prune-every", "0", "--eval-n", "12", "--heartbeat", "1"]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path_factory.getbasetemp() / "evaluator-cache"))


def tune(capsys, study: Path, *extra: str, fixed: list[str] = FIXED, space: list[str] = LR, trials: str = "1") -> tuple[int, str]:
    code = main(["tune", *fixed, *space, *QUICK, "--trials", trials, "--study", str(study), *extra])
    err = " ".join(capsys.readouterr().err.split())
    return code, err


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A finished one-trial study; tests take a copy (:func:`copy_of`)."""
    root = tmp_path_factory.mktemp("study") / "study"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANZOO_CACHE", str(tmp_path_factory.getbasetemp() / "evaluator-cache"))
        assert main(["tune", *FIXED, *LR, *QUICK, "--trials", "1", "--study", str(root)]) == 0
    return root


def copy_of(study: Path, tmp_path: Path) -> Path:
    target = tmp_path / "study"
    shutil.copytree(study, target)
    return target


# -- 1. a trial folder is reused only by its own trial -----------------------------------------------


@pytest.mark.slow
def test_a_lost_study_db_never_reports_an_old_trial_folder_as_a_new_trial(study, tmp_path, capsys):
    mine = copy_of(study, tmp_path)
    (mine / "study.db").unlink()  # lost: the same command starts the study again
    before = snapshot(mine / "trials" / "trial-0000")
    code, err = tune(capsys, mine)
    assert code == 0 and "Traceback" not in err
    (row,) = results.trials(mine)[1]
    assert row["state"] == "COMPLETE" and row["run_dir"] == "trials/trial-0000-2"
    assert "trial-0000 holds another configuration (train.lr_d:" in err and "starts afresh in trial-0000-2" in err
    assert snapshot(mine / "trials" / "trial-0000") == before  # the old trial's run is left as it was
    trained = json.loads((mine / row["run_dir"] / "config.json").read_text())["config"]["train"]["lr_d"]
    assert trained == pytest.approx(row["params"]["train.lr_d"], rel=1e-5)  # what is reported is what was trained
    assert results.best_overrides(mine)[-1] == f"train.lr_d={trained:.6g}"


# -- 2. --study owns its folder ----------------------------------------------------------------------------


def _user_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE measurements (x REAL)")
    con.execute("INSERT INTO measurements VALUES (1.5)")
    con.commit()
    con.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["run-folder", "user-files", "user-sqlite-as-study.db", "foreign-study.db-in-a-study", "not-sqlite-study.db-in-a-study"]
)
def test_a_folder_ganzoo_did_not_make_as_a_study_is_refused_before_anything_is_written(study, tmp_path, capsys, case):
    target = tmp_path / "target"
    if case == "run-folder":  # a finished run folder
        shutil.copytree(study / "trials" / "trial-0000", target)
    elif case == "user-files":
        (target / "logs").mkdir(parents=True)
        (target / "logs" / "trial-0000.log").write_text("my own log\n")
        (target / "notes.txt").write_text("mine")
    elif case == "user-sqlite-as-study.db":
        target.mkdir()
        _user_sqlite(target / "study.db")
    else:  # a ganzoo study whose study.db was replaced
        shutil.copytree(study, target)
        (target / "study.db").unlink()
        if case == "foreign-study.db-in-a-study":
            _user_sqlite(target / "study.db")
        else:
            (target / "study.db").write_bytes(b"name,value\nx,1\n" * 100)
    before = snapshot(target)
    code, err = tune(capsys, target)
    assert code == 2 and "Traceback" not in err
    fragment = {
        "run-folder": "It holds a ganzoo run (config.json)",
        "user-files": "already exists and is not empty",
        "user-sqlite-as-study.db": "study.json is missing",
        "foreign-study.db-in-a-study": "another program's SQLite database (it holds the table(s) 'measurements'",
        "not-sqlite-study.db-in-a-study": "not an SQLite database",
    }[case]
    assert fragment in err
    assert snapshot(target) == before and (target / ".claim.lock").exists() == case.endswith("in-a-study")  # nothing new, not even a lock


# -- 3. a bad --storage is a clear error and poisons nothing ----------------------------------------------------


def _driver() -> str | None:
    """A PostgreSQL or MySQL driver installed here, as its URL scheme (None: none is)."""
    for module, scheme in (("psycopg2", "postgresql"), ("pg8000", "postgresql+pg8000"), ("pymysql", "mysql+pymysql")):
        if importlib.util.find_spec(module) is not None:
            return scheme
    return None


@pytest.mark.parametrize(
    "storage,code,fragments",
    [
        ("foo://bar", 2, ["SQLAlchemy knows no database 'foo'", "postgresql"]),
        ("postgres://me@db/tune", 2, ["Did you mean 'postgresql'?"]),
        ("not a url", 2, ["'not a url' is not a storage URL", "DIALECT[+DRIVER]://"]),
        (
            "postgresql+nosuchdriver://me:secret@127.0.0.1:1/tune",
            2,
            ["postgresql+nosuchdriver://me:***@127.0.0.1:1/tune", "no driver 'nosuchdriver' for postgresql"],
        ),
        ("UNREACHABLE", 4, ["could not be reached", "127.0.0.1:1"]),
        ("sqlite:////proc/ganzoo-test/study.db", 4, ["sqlite:////proc/ganzoo-test/study.db", "cannot be opened for writing"]),
        ("journal:", 2, ["--storage journal: names no file"]),
        ("journal:NOFOLDER/j.log", 2, ["does not exist"]),
        ("journal:NOTAJOURNAL", 2, ["is not an Optuna journal"]),
    ],
)
def test_a_bad_storage_is_one_paragraph_and_nothing_is_written(tmp_path, capsys, storage, code, fragments):
    if storage == "UNREACHABLE":
        scheme = _driver()
        if scheme is None:
            pytest.skip("no PostgreSQL or MySQL driver is installed here (the missing-driver case runs instead)")
        storage = f"{scheme}://me:secret@127.0.0.1:1/tune"  # nothing listens on port 1
    mine = tmp_path / "notes.csv"
    mine.write_text("a,b\n")
    storage = storage.replace("NOFOLDER", str(tmp_path / "nowhere")).replace("NOTAJOURNAL", str(mine))
    got, err = tune(capsys, tmp_path / "study", "--storage", storage)
    assert got == code and "Traceback" not in err and "secret" not in err
    assert all(f in err for f in fragments), err
    assert not (tmp_path / "study").exists()  # no study.json to refuse the corrected command
    assert mine.read_text() == "a,b\n" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.csv"]


def test_a_missing_driver_names_the_package_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # as on a machine without it
    code, err = tune(capsys, tmp_path / "study", "--storage", "postgresql://me:secret@db.lab/tune")
    assert code == 2 and "pip install psycopg2-binary" in err and "postgresql://me:***@db.lab/tune" in err and "secret" not in err
    assert not (tmp_path / "study").exists()


def test_a_read_only_sqlite_storage_is_refused_and_writes_nothing(tmp_path, can_mount, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    with read_only(shared, can_mount):
        code, err = tune(capsys, tmp_path / "study", "--storage", f"sqlite:///{shared / 'tune.db'}")
    assert code == 4 and "cannot be opened for writing" in err and "Traceback" not in err
    assert not (tmp_path / "study").exists() and not list(shared.iterdir())


def test_a_server_error_is_named_with_the_url_not_a_traceback():
    from sqlalchemy.exc import OperationalError

    from ganzoo.errors import Unreachable
    from ganzoo.tuning.storage import explain

    error = explain(
        OperationalError("connect", {}, Exception('connection to server at "db.lab", port 5432 failed: Connection refused')),
        "postgresql://me:***@db.lab/tune",
    )
    assert isinstance(error, Unreachable) and error.exit_code == 4
    assert "postgresql://me:***@db.lab/tune could not be reached" in str(error) and "Connection refused" in str(error)


# -- 4. a damaged study.db ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["random-bytes", "cut-to-8-KB"])
@pytest.mark.parametrize("command", ["show", "run"])
def test_a_damaged_study_db_is_one_paragraph_naming_the_file(study, tmp_path, capsys, damage, command):
    mine = copy_of(study, tmp_path)
    db = mine / "study.db"
    if damage == "random-bytes":
        db.write_bytes(os.urandom(64 * 1024))
    else:
        os.truncate(db, 8192)
    before = snapshot(mine)
    code, err = (
        tune(capsys, mine)
        if command == "run"
        else (main(["tune", "--study", str(mine), "--show"]), " ".join(capsys.readouterr().err.split()))
    )
    assert code == 2 and "Traceback" not in err and "sqlalchemy" not in err.lower()
    assert f"{db}, the study's database, is damaged" in err and err.count("error:") == 1
    assert snapshot(mine) == before


# -- 5. --show is read-only ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_show_works_on_a_read_only_study_folder(study, tmp_path, can_mount, capsys):
    mine = copy_of(study, tmp_path)
    before = snapshot(mine)
    with read_only(mine, can_mount):
        code = main(["tune", "--study", str(mine), "--show"])
        out, err = capsys.readouterr()
        assert code == 0 and "Traceback" not in err, err
        assert "best trial" in out and "trials/trial-0000" in out
        assert main(["run", "--dry-run", "--json", f"preset-from={mine}"]) == 0  # the best trial's overrides, read-only too
    assert snapshot(mine) == before


# -- 6. a plan that no trial can run is refused up front ------------------------------------------------------------


@pytest.mark.parametrize(
    "space,extra,fragments",
    [
        (["--space", "train.lr_dd=log:1e-5..1e-3"], [], ["train.lr_dd=1e-05", "Did you mean 'lr_d'?"]),
        (
            ["--space", "critic=choice:layernorm_cond,dcgan", "--space", "critic.stme=choice:true,false"],
            [],
            ["no trial would use it", "Did you mean 'critic.stem'?"],
        ),
        (["--space", "train.lr_d=choice:a,b"], [], ["train.lr_d=a", "valid number"]),
        (["--space", "train.lr_g=float:0.5..2"], [], ["train.lr_g=2", "less than 1"]),
        (["--space", "train.max_retries=float:1..5"], [], ["train.max_retries=2.528", "valid integer"]),
        (LR, ["--trial-minutes", "nan"], ["--trial-minutes a finite number above 0 (got nan)"]),
        (LR, ["--trial-minutes", "inf"], ["(got inf)"]),
        (["--space", "train.steps=int:2..8"], [], ["train.steps is both fixed (train.steps=6) and searched"]),
        (["--space", "train.max_minutes=float:1..2"], [], ["train.max_minutes is set by ganzoo tune"]),
        (LR, ["--launcher", "no-such-launcher --nproc_per_node=2"], ["no command 'no-such-launcher'"]),
    ],
)
def test_a_plan_no_trial_can_run_is_refused_before_anything_is_written(tmp_path, capsys, space, extra, fragments):
    code, err = tune(capsys, tmp_path / "study", *extra, space=space)
    assert code == 2 and "Traceback" not in err and err.count("error:") == 1
    assert all(f in err for f in fragments), err
    assert not (tmp_path / "study").exists()


def test_fixed_overrides_every_searched_component_refuses_are_refused_up_front(tmp_path, capsys):
    code, err = tune(capsys, tmp_path / "study", fixed=[*FIXED, "critic.norm=batch"], space=["--space", "constraint=choice:gp,r1"])
    assert code == 2 and "No trial of this study can run" in err and "batch-coupled" in err
    assert not (tmp_path / "study").exists()


@pytest.mark.slow
def test_a_study_whose_every_trial_failed_exits_non_zero(tmp_path, capsys):
    code = main(["tune", *FIXED, *LR, *QUICK, "--trials", "2", "--launcher", "false", "--study", str(tmp_path / "study")])
    out, err = capsys.readouterr()
    assert code == 1 and "Every trial of the study" in " ".join(err.split()) and "Traceback" not in err
    assert [r["state"] for r in results.trials(tmp_path / "study")[1]] == ["FAIL", "FAIL"] and "FAIL" in out


# -- 9. a trial killed by SIGKILL is retried ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_trial_killed_by_sigkill_is_retried_from_its_checkpoint(tmp_path, capsys):
    mark = tmp_path / "killed-once"
    launcher = tmp_path / "oom.sh"  # the first trial process is killed after step 3 (as the OOM killer would), the retry is not
    launcher.write_text(f'if [ ! -e "{mark}" ]; then touch "{mark}"; export GANZOO_FAULT=kill:logged:3; fi\nexec "{sys.executable}" "$@"\n')
    study = tmp_path / "study"
    code = main(
        ["tune", *FIXED, "train.checkpoint_every=1", *LR, *QUICK, "--trials", "1", "--launcher", f"sh {launcher}", "--study", str(study)]
    )
    err = " ".join(capsys.readouterr().err.split())
    assert code == 0 and mark.exists() and "Traceback" not in err
    killed, retry = results.trials(study)[1]
    assert killed["state"] == "FAIL" and "killed by signal 9 (SIGKILL" in killed["error"] and "retried" in killed["error"]
    assert retry["state"] == "COMPLETE" and retry["retry_of"] == killed["number"] and retry["run_dir"] == killed["run_dir"]
    log = (study / "logs" / "trial-0000.log").read_text()
    assert "from step-00000002" in " ".join(log.split())  # continued from its checkpoint, not from step 0

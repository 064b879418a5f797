"""Where a study keeps its trials: its Optuna storage, checked before anything is written.

- the default, ``DIR/study.db`` (SQLite), is used only when it is missing or is an SQLite database
  holding nothing but Optuna's tables; a damaged file or another program's database is refused,
  naming the file, and nothing is written into it;
- ``--storage URL`` is any SQLAlchemy URL Optuna takes (PostgreSQL, MySQL, SQLite), or
  ``journal:PATH`` (a file on a file system every worker reaches). It is opened before the study
  folder is written, so a URL that cannot be read, a database or driver that is not installed, a
  server that cannot be reached or a path that cannot be written is one paragraph naming the URL
  (its password hidden), the cause and what to install or change, and the corrected command is
  then accepted.

``--show`` and ``preset-from=DIR`` open the storage read-only (SQLite in ``mode=ro``, no table
created), so they work on a study folder mounted read-only.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

from ganzoo.errors import ConfigError, GanzooError, StorageError, Unreachable, did_you_mean, os_reason

DB = "study.db"
SQLITE_HEADER = b"SQLite format 3\x00"
# The Python package each SQLAlchemy dialect+driver needs, for the "install" hint.
DRIVERS = {
    "postgresql": "psycopg2-binary",
    "postgresql+psycopg2": "psycopg2-binary",
    "postgresql+psycopg": "psycopg[binary]",
    "postgresql+pg8000": "pg8000",
    "mysql": "mysqlclient",
    "mysql+mysqldb": "mysqlclient",
    "mysql+pymysql": "PyMySQL",
    "mysql+mysqlconnector": "mysql-connector-python",
    "mariadb": "mysqlclient",
    "mariadb+pymysql": "PyMySQL",
}
DIALECTS = ("postgresql", "mysql", "mariadb", "sqlite", "oracle", "mssql")
CONNECT_TIMEOUT_S = 30  # an unreachable server is an error after this, not a hang
FORMS = (
    "the form is DIALECT[+DRIVER]://USER:PASSWORD@HOST:PORT/DATABASE, e.g. postgresql://me@db.lab:5432/tune, "
    "mysql+pymysql://me@db.lab/tune or sqlite:////shared/tune.db; or journal:PATH for a journal file on a shared file system"
)


def optuna_module():
    try:
        import optuna
    except ImportError:
        raise GanzooError("ganzoo tune needs Optuna, an optional dependency: pip install 'ganzoo[tune]'.") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def shown(url: str) -> str:
    """The URL as it may be printed: its password hidden."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: show it as typed
        return url


def open_storage(url: str, study_dir: Path, *, read_only: bool = False) -> Any:
    """The Optuna storage of a study (``url`` empty: ``DIR/study.db``), or one clean error."""
    optuna = optuna_module()
    if not url:
        db = study_dir / DB
        check_study_db(db)
        if read_only and not db.exists():
            raise ConfigError(f"The study in {study_dir} has no {DB} yet: no trial has started. Run the ganzoo tune command that made it.")
        target = db.resolve()
        address = f"sqlite:///file:{quote(str(target))}?mode=ro&uri=true" if read_only else f"sqlite:///{target}"
        return _rdb(optuna, address, str(db), read_only)
    if url.startswith("journal:"):
        return _journal(optuna, url, read_only)
    return _rdb(optuna, url, shown(url), read_only)


def _rdb(optuna: Any, url: str, what: str, read_only: bool) -> Any:
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    dialect = url.partition("://")[0]
    timeout = {
        "postgresql": "connect_timeout",
        "postgresql+psycopg2": "connect_timeout",
        "postgresql+psycopg": "connect_timeout",
        "postgresql+pg8000": "timeout",
        "mysql": "connect_timeout",
        "mysql+mysqldb": "connect_timeout",
        "mysql+pymysql": "connect_timeout",
        "mysql+mysqlconnector": "connect_timeout",
    }.get(dialect)
    kwargs = (
        {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"connect_args": {timeout: CONNECT_TIMEOUT_S}} if timeout else {}
    )
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, skip_table_creation=read_only)
    except NoSuchModuleError:  # (a kind of ArgumentError)
        name, plus, driver = dialect.partition("+")
        if plus and name in DIALECTS:
            known = sorted(k for k in DRIVERS if k.startswith(name + "+"))
            raise ConfigError(
                f"--storage {what}: SQLAlchemy knows no driver {driver!r} for {name}.{did_you_mean(dialect, known)} "
                f"Leave it out ({name}://...) for the default driver, or name one such as {', '.join(known)}."
            ) from None
        raise ConfigError(
            f"--storage {what}: SQLAlchemy knows no database {name!r}.{did_you_mean(name, DIALECTS)} "
            f"Optuna stores studies in {', '.join(DIALECTS[:3])} or sqlite; {FORMS}."
        ) from None
    except ArgumentError:
        raise ConfigError(f"--storage {url!r} is not a storage URL: {FORMS}.") from None
    except ImportError:
        package = DRIVERS.get(dialect, DRIVERS.get(dialect.partition("+")[0], "the driver its DIALECT+DRIVER names"))
        raise ConfigError(
            f"--storage {what} needs a Python driver for {dialect} that is not installed here. Install it "
            f"(pip install {package}) on every machine that runs workers, then run the same command again."
        ) from None
    except Exception as exc:
        raise explain(exc, what) from None


def _journal(optuna: Any, url: str, read_only: bool) -> Any:
    text = url.removeprefix("journal:").removeprefix("//")
    if not text.strip():
        raise ConfigError(
            "--storage journal: names no file. Give the journal's path after the colon, e.g. --storage "
            "journal:/shared/tune/lr.journal (a file on a file system every worker reaches)."
        )
    path = Path(text).expanduser()
    if path.is_dir():
        raise ConfigError(f"--storage {url}: {path} is a folder. Name a journal file in it, e.g. journal:{path / 'study.journal'}.")
    if path.exists():
        check_journal(path)
    elif read_only:
        raise ConfigError(f"--storage {url}: the journal {path} does not exist, so the study has no trials to show.")
    elif not path.parent.is_dir():
        raise ConfigError(
            f"--storage {url}: the folder {path.parent} does not exist. Create it (on a file system every worker reaches), or name "
            "another path."
        )
    from optuna.storages.journal import JournalFileBackend

    try:
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    except OSError as exc:
        raise StorageError(
            f"--storage {url}: cannot open the journal {path}: {os_reason(exc)}. Nothing was written; make it writable or name "
            "another path."
        ) from None


def check_journal(path: Path) -> None:
    """Refuse a file that is not an Optuna journal (each line a JSON object with an ``op_code``)."""
    try:
        with open(path, "rb") as f:
            first = f.readline(1 << 20)
    except OSError as exc:
        raise StorageError(f"Cannot read the journal {path}: {os_reason(exc)}.") from None
    try:
        ok = not first.strip() or "op_code" in json.loads(first)
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ConfigError(
            f"{path} is not an Optuna journal (its first line is not a journal record), so ganzoo tune will not "
            "write into it. Nothing was changed. Name another --storage journal:PATH, or move the file away."
        )


def optuna_tables() -> set[str]:
    try:
        from optuna.storages._rdb import models

        return set(models.BaseModel.metadata.tables) | {"alembic_version"}
    except Exception:  # the module moved: the tables of Optuna 3 to 5
        return {
            "alembic_version",
            "studies",
            "study_directions",
            "study_system_attributes",
            "study_user_attributes",
            "trial_heartbeats",
            "trial_intermediate_values",
            "trial_params",
            "trial_system_attributes",
            "trial_user_attributes",
            "trial_values",
            "trials",
            "version_info",
        }


def check_study_db(db: Path) -> None:
    """``DIR/study.db`` must be missing, empty, or an undamaged SQLite database of Optuna's tables alone."""
    if not (db.exists() or db.is_symlink()):
        return
    if not db.is_file():
        raise ConfigError(
            f"{db} should be the study's SQLite database but is not a regular file. Nothing was changed; move it away, or choose "
            "another --study DIR."
        )
    try:
        with open(db, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StorageError(f"Cannot read {db}, the study's database: {os_reason(exc)}.") from None
    if not head:
        return  # an empty file is an empty SQLite database
    if head != SQLITE_HEADER:
        raise damaged(db, "it does not start with SQLite's header: not an SQLite database")
    try:
        con = sqlite3.connect(f"file:{quote(str(db.resolve()))}?mode=ro", uri=True)
        try:
            tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            foreign = sorted(tables - optuna_tables())
            problems = [] if foreign else [row[0] for row in con.execute("PRAGMA quick_check(3)")]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise damaged(db, str(exc)) from None
    if foreign:
        listed = ", ".join(repr(t) for t in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ConfigError(
            f"{db} is another program's SQLite database (it holds the table(s) {listed}, which Optuna does not make), "
            "so ganzoo tune will not write a study into it. Nothing was changed; move it away, or choose another --study DIR."
        )
    if problems != ["ok"]:
        raise damaged(db, "; ".join(problems))


def damaged(db: Path, why: str) -> ConfigError:
    return ConfigError(
        f"{db}, the study's database, is damaged or not a database ({' '.join(why.split())[:200]}): SQLite cannot read it. "
        "Nothing was changed. Restore it from a copy; or move it away and run the same command to start the study "
        "afresh (the trials' run folders in DIR/trials are kept, and a trial reuses one only when its configuration matches)."
    )


def explain(exc: BaseException, what: str) -> GanzooError:
    """An error of the storage (SQLAlchemy's, the driver's, the file system's) as one paragraph naming it."""
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300] or type(exc).__name__
    if isinstance(exc, OSError):
        return StorageError(
            f"The study's storage {what} could not be used: {os_reason(exc)}. Fix the cause, then run the same command again."
        )
    text = reason.lower()
    if "malformed" in text or "not a database" in text or "file is encrypted" in text:
        return ConfigError(
            f"The study's storage {what} is damaged or not a database ({reason}). Restore it from a copy, or choose another storage."
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text or "permission" in text or "disk" in text:
        return StorageError(
            f"The study's storage {what} cannot be opened for writing ({reason}). Nothing was written to the study "
            "folder. Use a path on a writable file system (not /proc or a read-only mount), or choose another --storage."
        )
    return Unreachable(
        f"The study's storage {what} could not be reached or used ({reason}). Check that the server runs and accepts "
        "this user from this machine, and the host, port and database name; nothing was written to the study folder."
    )


@contextlib.contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Turn an error of the storage while a study runs or is shown into one paragraph naming it."""
    try:
        yield
    except GanzooError:
        raise
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, (SQLAlchemyError, sqlite3.Error)):
            raise explain(exc, what) from None
        raise

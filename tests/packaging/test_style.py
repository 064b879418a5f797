"""One line length and one formatter: ``ruff check`` and ``ruff format --check`` pass on ganzoo/,
plugins/ and tests/ (the rules and the line length, 140, are pyproject.toml's ``[tool.ruff]``).

ruff comes with the dev extra (``pip install -e ".[dev]"``), so a missing ruff fails here, as in CI.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the repository
TREES = ["ganzoo", "plugins", "tests"]


def ruff(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    exe = shutil.which("ruff")
    command = [exe] if exe else [sys.executable, "-m", "ruff"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def available():
    found = ruff("--version")
    assert found.returncode == 0, "ruff is missing: install the dev extra, python -m pip install -e '.[dev]'"
    return found.stdout


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_finds_nothing_to_change(available, command):
    done = ruff(*command, *TREES)
    fix = f"ruff format {' '.join(TREES)}; ruff check --fix"
    assert done.returncode == 0, f"ruff {' '.join(command)} (fix with: {fix}):\n{done.stdout[-4000:]}"


def test_the_checks_fail_on_a_long_line_and_on_unformatted_code(available, tmp_path):
    """The same settings, on a file that breaks each: both commands find it."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "bad.py").write_text('x = {"a":1}\nTEXT = "' + "word " * 40 + '"\n')
    check, fmt = ruff("check", "bad.py", cwd=tmp_path), ruff("format", "--check", "bad.py", cwd=tmp_path)
    assert check.returncode == 1 and "E501" in check.stdout
    assert fmt.returncode == 1 and "bad.py" in fmt.stdout

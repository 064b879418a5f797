"""A wheel built from the repository works outside the source tree, as users and plugin authors install it.

The wheel is installed with ``pip install --target`` (no dependencies: they are the ones this test
environment already has) into a folder that comes first on ``PYTHONPATH``, and every command runs
from a working folder outside the source tree, so nothing can be read from the checkout.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import TINY

pytestmark = pytest.mark.slow  # builds and installs a wheel

ROOT = Path(__file__).resolve().parents[2]  # the repository


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(ROOT), "-w", str(base / "dist")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (base / "dist").glob("ganzoo-*.whl")
    target = base / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    work = base / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "GANZOO_DISABLE_PLUGIN_AUTOLOAD": "1", "OMP_NUM_THREADS": "1"}
    return target, work, env


def ganzoo(installed, *args, timeout=300):
    _, work, env = installed
    return subprocess.run([sys.executable, "-m", "ganzoo.cli", *args], cwd=work, env=env, capture_output=True, text=True, timeout=timeout)


def test_the_installed_package_is_the_wheel_and_carries_the_catalogue(installed):
    target, work, env = installed
    probe = (
        "import ganzoo, ganzoo_plugins; from ganzoo.registry.catalogue import catalogue_path; "
        "print(ganzoo.__file__); print(ganzoo_plugins.__file__); print(catalogue_path())"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    paths = [Path(p) for p in out.stdout.split()]
    assert all(target in p.parents for p in paths), paths
    assert paths[2].name == "registry.toml" and paths[2].is_file()


def test_every_command_runs_from_the_wheel(installed):
    listed = ganzoo(installed, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    names = {(e["kind"], e["name"]) for e in json.loads(listed.stdout)}
    assert {("critic", "layernorm_cond"), ("constraint", "gp"), ("dataset", "mnist5k")} <= names

    run = ganzoo(installed, "run", *TINY, "train.steps=2", "out=run")
    assert run.returncode == 0, run.stderr
    _, work, _ = installed
    assert [json.loads(line)["step"] for line in (work / "run" / "metrics.jsonl").read_text().splitlines()] == [1, 2]

    bench_help = ganzoo(installed, "bench", "--help")
    assert bench_help.returncode == 0 and "--matrix" in bench_help.stdout

    new = ganzoo(installed, "new-plugin", "wheel_probe")
    assert new.returncode == 0, new.stderr
    assert (work / "ganzoo-wheel-probe" / "pyproject.toml").is_file()

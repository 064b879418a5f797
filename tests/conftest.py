"""The fixtures of every test folder. What test modules import is in tests/helpers.py."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# The suite's models are tiny: one intra-op thread is faster than two fighting over the cores, and
# subprocesses (kill/resume, CLI runs) inherit it, so their floats match in-process runs exactly.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from ganzoo.registry.host import PluginHost  # noqa: E402
from helpers import TINY, mount  # noqa: E402 (tests/helpers.py: what test modules share)

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

pytest_plugins = ["ganzoo.testing"]  # the fixtures a plugin author's test suite gets (ganzoo_host)


@pytest.fixture(autouse=True)
def _no_autoload(monkeypatch):
    """Tests never see plugins that happen to be installed on the machine."""
    monkeypatch.setenv("GANZOO_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for a module's tests, whatever OMP_NUM_THREADS says. Tiny tensors gain
    nothing from a second thread, and on a busy 2-core machine its spin-waiting made the contract
    checks 10-20x slower (measured: 13 s vs 0.65 s for one case)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def host():
    """A fresh plugin manager with the built-ins and no entry points."""
    return PluginHost(entry_points=[])


@pytest.fixture
def tiny(tmp_path):
    def make(*extra, out="run"):
        return [*TINY, f"out={tmp_path / out}", *extra]

    return make


# The one big model the suite trains: the mnist5k judge (ganzoo.evaluation.evaluator), on both cores as
# `ganzoo eval` would. The tests that need it are slow; it is trained in a process of its own from the
# end of collection on, while the other tests (one thread each) run, and waited for when first needed.
JUDGE = pytest.StashKey[tuple]()
TRAIN_JUDGE = (
    "from ganzoo.evaluation.evaluator import get_evaluator; from ganzoo_plugins.datasets.mnist5k import Mnist5k; "
    "get_evaluator(Mnist5k(Mnist5k.Config()).load())"
)


@pytest.hookimpl(tryfirst=True)  # before -m deselects: "slow" must already be on these tests
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "mnist5k_cache" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session):
    """Start training the mnist5k judge now when a selected test will need it."""
    if session.config.option.collectonly or not any("mnist5k_cache" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    cache = Path(tempfile.mkdtemp(prefix="ganzoo-mnist5k-cache-"))
    env = {
        **os.environ,
        "GANZOO_CACHE": str(cache),
        "OMP_NUM_THREADS": str(min(2, os.cpu_count() or 1)),
        "GANZOO_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    proc = subprocess.Popen([sys.executable, "-c", TRAIN_JUDGE], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    session.config.stash[JUDGE] = (cache, proc)


def pytest_unconfigure(config):
    cache, proc = config.stash.get(JUDGE, (None, None))
    if proc is not None:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture(scope="session")
def mnist5k_cache(request, tmp_path_factory):
    """A $GANZOO_CACHE that holds the mnist5k evaluator, trained once per session (in the background,
    see above; in this process on both cores if that failed). Tests that score mnist5k point GANZOO_CACHE here."""
    cache, proc = request.config.stash.get(JUDGE, (None, None))
    if proc is not None:
        _, err = proc.communicate()
        if proc.returncode == 0:
            return cache
        print(f"training the mnist5k judge in the background failed (exit {proc.returncode}); training it here:\n{err[-2000:]}")
    from ganzoo.evaluation.evaluator import get_evaluator
    from ganzoo_plugins.datasets.mnist5k import Mnist5k

    cache = tmp_path_factory.mktemp("mnist5k-cache")
    before, env = torch.get_num_threads(), os.environ.get("GANZOO_CACHE")
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    os.environ["GANZOO_CACHE"] = str(cache)
    try:
        get_evaluator(Mnist5k(Mnist5k.Config()).load())
    finally:
        torch.set_num_threads(before)
        if env is None:
            os.environ.pop("GANZOO_CACHE")
        else:
            os.environ["GANZOO_CACHE"] = env
    return cache


@pytest.fixture(scope="module")
def can_mount(tmp_path_factory):
    """True where this process may mount (root with CAP_SYS_ADMIN, as in CI's container)."""
    probe = tmp_path_factory.mktemp("mount-probe")
    if os.geteuid() != 0 or not mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)):
        return False
    subprocess.run(["umount", str(probe)], check=True)
    return True

"""The fixtures of every test folder. What test modules import is in tests/helpers.py."""

import os
import subprocess

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


@pytest.fixture(scope="session")
def mnist5k_cache(tmp_path_factory):
    """A $GANZOO_CACHE that holds the mnist5k evaluator, trained once per session (on both cores: it
    is the one big model the suite trains; about 40 s). Tests that score mnist5k point GANZOO_CACHE here."""
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

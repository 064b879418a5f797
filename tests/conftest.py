import os

# The suite's models are tiny: one intra-op thread is faster than two fighting over the cores, and
# subprocesses (kill/resume, CLI runs) inherit it, so their floats match in-process runs exactly.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from ganzoo.registry.host import PluginHost  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

pytest_plugins = ["ganzoo.testing"]  # the fixtures a plugin author's test suite gets (ganzoo_host)

# A configuration small enough to train a few steps in well under a second: the seed's parts
# (LayerNorm critic, ResNet generator, gradient penalty) at toy sizes.
TINY = [
    "preset=wgan-gp-paper", "data=synthetic", "data.n=64", "data.size=8", "data.num_classes=3",
    "critic.width=2", "generator.base=32", "generator.z_dim=8",
    "train.batch_size=8", "train.n_critic=2", "train.progress=false",
    # fp32 on every machine: the default (auto) is bf16 on CPUs with avx512_bf16 or AMX and fp32 on
    # others, and the suite compares paths and processes at fp32 tolerances (bf16 has its own tests)
    "train.precision=fp32",
]


def override(base: list[str], *extra: str) -> list[str]:
    """``base`` with ``extra`` set: an item of ``extra`` replaces the item of ``base`` with the same key,
    the rest are added. The command line refuses a key given twice, so tests build their lists here."""
    keys = {item.partition("=")[0].strip() for item in extra if "=" in item}
    return [*(item for item in base if item.partition("=")[0].strip() not in keys), *extra]


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

"""A failing plugin is named: every component kind that raises gets the error critics get (the
component, the plugin and distribution that provide it, what ganzoo was doing, exit 2)."""

from __future__ import annotations

import importlib.metadata as md

import pytest
import torch

import ganzoo
import ganzoo.registry.host as host_module
from helpers import TINY, override
from ganzoo.cli import main
from ganzoo.errors import PluginError
from ganzoo.registry.build import build_models, load_data
from ganzoo.registry.config import resolve
from ganzoo.registry.host import HOOKS, PluginHost

NO_DATA_OPTIONS = [x for x in TINY if not x.startswith("data.")]  # broken_data takes none


class BrokenNorm(ganzoo.Normaliser):
    name = "broken_norm"
    description = "a normaliser that cannot build its layer"

    def __call__(self, channels, height, width, affine=True):
        raise ValueError(f"cannot normalise {channels} channels")


class BrokenData(ganzoo.Dataset):
    name = "broken_data"
    description = "a dataset whose files are not what it expects"

    def load(self):
        raise KeyError("labels.csv")


class BrokenLoss(ganzoo.Loss):
    name = "broken_loss"
    description = "a loss with a bug"

    def critic_loss(self, real_scores, fake_scores):
        return torch.stack([real_scores, fake_scores[:1]]).mean()  # the bug: shapes that do not match

    def generator_loss(self, fake_scores, real_scores=None):
        return -fake_scores.mean()


class BrokenPenalty(ganzoo.Penalty):
    name = "broken_penalty"
    description = "a penalty with a bug"

    def term(self, critic, real, fake, labels):
        raise ZeroDivisionError("gamma / 0")


def _plugin(*classes):
    class Plugin:
        pass

    for cls in classes:
        hook = HOOKS[cls.kind]
        setattr(Plugin, hook, staticmethod(ganzoo.hookimpl(lambda register, cls=cls: register(cls))))
        getattr(Plugin, hook).__name__ = hook
    return Plugin()


@pytest.fixture
def broken_host():
    host = PluginHost(entry_points=[])
    host.register(_plugin(BrokenNorm, BrokenData, BrokenLoss, BrokenPenalty), name="broken-parts", distribution="ganzoo-broken-parts")
    return host


def test_a_normaliser_that_raises_while_a_network_is_built_is_blamed_not_the_critic(broken_host):
    cfg = resolve([*TINY, "critic.norm=broken_norm"], broken_host)
    with pytest.raises(PluginError) as err:
        build_models(cfg, load_data(cfg, broken_host).spec, broken_host)
    message = str(err.value)
    assert message.startswith(
        "The normaliser 'broken_norm' (from plugin 'broken-parts', distribution 'ganzoo-broken-parts') raised ValueError: cannot normalise"
    )
    assert "while ganzoo built the critic 'layernorm_cond'" in message and "choose another normaliser" in message


def test_a_dataset_that_raises_something_else_than_dataerror_is_named(broken_host):
    with pytest.raises(
        PluginError,
        match=r"The dataset 'broken_data' \(from plugin 'broken-parts', distribution 'ganzoo-broken-parts'\) raised KeyError: "
        r"'labels.csv' while loading the data \(data=broken_data\)",
    ):
        load_data(resolve([*NO_DATA_OPTIONS, "data=broken_data"], broken_host), broken_host)


def test_a_loss_that_raises_is_named_before_training(broken_host):
    cfg = resolve([*TINY, "loss=broken_loss"], broken_host)
    with pytest.raises(
        PluginError,
        match=r"The loss 'broken_loss' .* raised RuntimeError: .* while trying the loss 'broken_loss' on two scores before training",
    ):
        build_models(cfg, load_data(cfg, broken_host).spec, broken_host)


@pytest.mark.parametrize(
    "extra,fragment",
    [
        (
            ["constraint=broken_penalty"],
            "The constraint 'broken_penalty' (from plugin 'broken-parts', distribution 'ganzoo-broken-parts') raised "
            "ZeroDivisionError: gamma / 0 while training (generator step 1 of",
        ),
        (["data=broken_data"], "The dataset 'broken_data'"),
        (["critic.norm=broken_norm"], "The normaliser 'broken_norm'"),
        (["loss=broken_loss"], "The loss 'broken_loss'"),
    ],
)
def test_through_the_cli_each_failure_is_one_paragraph_and_exit_2(broken_host, monkeypatch, tmp_path, capsys, extra, fragment):
    monkeypatch.setattr(host_module, "_default", broken_host)
    base = NO_DATA_OPTIONS if "data=broken_data" in extra else TINY
    code = main(["run", *override(base, *extra), "train.steps=2", f"out={tmp_path / 'run'}"])  # extra replaces the base's data=
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and fragment in err and "Traceback" not in err


class _Dist:
    def __init__(self, name):
        self.name, self.version = name, "2.0"


def test_a_hook_that_raises_while_registering_is_named_with_its_distribution_and_shown_by_plugins(monkeypatch, capsys):
    import sys
    import types

    def boom(register):
        raise RuntimeError("no such layer")

    module = types.ModuleType("ganzoo_test_registering_bomb")
    module.register_critics = ganzoo.hookimpl(boom)
    monkeypatch.setitem(sys.modules, "ganzoo_test_registering_bomb", module)
    ep = md.EntryPoint(name="regbomb", value="ganzoo_test_registering_bomb", group="ganzoo")._for(_Dist("ganzoo-regbomb"))
    real = md.entry_points
    monkeypatch.setattr(
        md, "entry_points", lambda group=None, **kw: [ep] if group == "ganzoo" else real(group=group, **kw) if group else real(**kw)
    )
    monkeypatch.delenv("GANZOO_DISABLE_PLUGIN_AUTOLOAD")
    monkeypatch.setattr(host_module, "_default", None)
    assert main(["plugins"]) == 0
    captured = capsys.readouterr()
    err, out = " ".join(captured.err.split()), " ".join(captured.out.split())
    assert (
        "Plugin 'regbomb' from distribution 'ganzoo-regbomb' failed in register_critics: RuntimeError: no such layer. Its "
        "components were skipped." in err
    )
    assert "regbomb" in out and "failed" in out and "ganzoo-regbomb" in out
    assert main(["plugins", "--json"]) == 0
    listed = {p["name"]: p for p in __import__("json").loads(capsys.readouterr().out)}
    assert "no such layer" in listed["regbomb"]["error"] and listed["regbomb"]["distribution"] == "ganzoo-regbomb"
    assert listed["ganzoo_plugins.critics.dcgan"]["error"] == ""

"""Promise 7 (RELIABILITY.md): a plugin that misbehaves is named in the error, and a broken
third-party plugin never stops the rest of ganzoo from working.

Third-party plugins arrive as entry points; a failure while loading or registering one is a warning
naming the plugin and its distribution, and its components are skipped. A plugin registered directly
(built-ins, tests) fails loudly with a PluginError instead. A component that raises when it is built
or first run is an error naming the component and its plugin, before anything is trained or written.
"""

from __future__ import annotations

import importlib.metadata as md
import sys
import types

import pytest
import torch

import ganzoo
import conftest
from ganzoo.cli import main
from ganzoo.registry.config import resolve
from ganzoo.errors import PluginError
from ganzoo.registry.host import PluginHost, PluginWarning
from ganzoo.runs.launch import dry_run, start

# Without critic.width: some tests switch to a throwaway critic that has no such option.
TINY = [*(x for x in conftest.TINY if not x.startswith("critic.")), "data.n=8", "data.num_classes=2", "generator.z_dim=4"]


class FakeDist:
    def __init__(self, name):
        self.name, self.version = name, "1.0"


def _ep(name, value, dist):
    ep = md.EntryPoint(name=name, value=value, group="ganzoo")
    return ep._for(FakeDist(dist))


def _install(monkeypatch, module_name, **attrs):
    mod = types.ModuleType(module_name)
    mod.__dict__.update(attrs)
    monkeypatch.setitem(sys.modules, module_name, mod)


class GoodCritic(ganzoo.Critic):
    name = "good_test_critic"
    description = "a third-party critic that works"

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        self.lin = torch.nn.Linear(spec.channels * spec.size**2, 1)

    def forward(self, x, labels):
        return self.lin(x.flatten(1)).squeeze(1)  # (N,)


class GoodPlugin:
    @ganzoo.hookimpl
    def register_critics(self, register):
        register(GoodCritic)


def _plugin(hook: str, body):
    """A plugin object implementing one registry hook with ``body(register)``."""
    ns = {hook: ganzoo.hookimpl(lambda register: body(register))}
    ns[hook].__name__ = hook
    return types.SimpleNamespace(**ns)


def _register(cls):
    return lambda register: register(cls)


def _raise(register):
    raise RuntimeError("boom inside the hook")


BROKEN = {
    "raises on import": ("ganzoo_test_import_bomb", None, "ImportError: cannot initialise the bomb"),
    "raises inside a hook": ("ganzoo_test_hook_bomb", _plugin("register_critics", _raise), "boom inside the hook"),
    "registers a class without a name": (
        "ganzoo_test_nameless",
        _plugin("register_critics", _register(type("Nameless", (ganzoo.Critic,), {}))),
        "without a valid `name`",
    ),
    "registers a class whose Config is None": (
        "ganzoo_test_no_config",
        _plugin("register_losses", _register(type("NoConfig", (ganzoo.Loss,), {"name": "no_config", "Config": None}))),
        "`Config` is not a pydantic model",
    ),
    "registers something that is not a component": (
        "ganzoo_test_not_a_class",
        _plugin("register_losses", _register(len)),
        "not a subclass of ganzoo.Loss",
    ),
    "misspells a hook": (
        "ganzoo_test_typo",
        types.SimpleNamespace(register_critcs=ganzoo.hookimpl(lambda register: None)),
        "register_critcs",
    ),
}


def _import_bomb(monkeypatch, folder, module):
    """A real module file whose top-level code raises when it is imported."""
    (folder / f"{module}.py").write_text('raise ImportError("cannot initialise the bomb")\n')
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, module, raising=False)


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_third_party_plugin_is_named_and_the_rest_keeps_working(case, monkeypatch, tmp_path):
    module, plugin, fragment = BROKEN[case]
    if plugin is None:
        _import_bomb(monkeypatch, tmp_path, module)
    else:
        _install(monkeypatch, module, plugin=plugin)
    _install(monkeypatch, "ganzoo_test_good", plugin=GoodPlugin())
    eps = [_ep("broken", f"{module}:plugin", "broken-dist"), _ep("good", "ganzoo_test_good:plugin", "good-dist")]
    with pytest.warns(PluginWarning) as record:
        host = PluginHost(entry_points=eps, env={})
        critics = host.components("critic")
        host.components("loss")
    message = " ".join(str(w.message) for w in record)
    assert "'broken'" in message and fragment in message
    assert "GANZOO_BLOCK_PLUGINS=broken" in message or "Its components were skipped" in message
    # Everything else still works: the built-ins, the good third-party plugin, and building both.
    assert {"layernorm_cond", "good_test_critic"} <= set(critics)
    assert "wasserstein" in host.components("loss")
    for critic in ("good_test_critic", "layernorm_cond"):
        assert dry_run(resolve([*TINY, f"critic={critic}", "constraint=clip"], host), host)["params"]["critic"] > 0


def test_broken_plugin_through_the_cli_is_a_warning_not_a_failure(monkeypatch, capsys, tmp_path):
    import ganzoo.registry.host as plugins

    _import_bomb(monkeypatch, tmp_path, "ganzoo_test_import_bomb")
    real = md.entry_points
    # Only ganzoo's group is replaced: other libraries (triton, loaded lazily by torch) look up their own.
    monkeypatch.setattr(
        md,
        "entry_points",
        lambda group=None, **kw: (
            [_ep("bomb", "ganzoo_test_import_bomb:plugin", "bomb-dist")]
            if group == "ganzoo"
            else real(group=group, **kw)
            if group
            else real(**kw)
        ),
    )
    monkeypatch.delenv("GANZOO_DISABLE_PLUGIN_AUTOLOAD")
    monkeypatch.setattr(plugins, "_default", None)
    assert main(["list", "critic", "--json"]) == 0
    captured = capsys.readouterr()
    assert "layernorm_cond" in captured.out
    assert "warning:" in captured.err and "'bomb'" in captured.err and "bomb-dist" in captured.err


@pytest.mark.parametrize("case", ["raises inside a hook", "registers a class without a name", "registers a class whose Config is None"])
def test_directly_registered_plugin_fails_loudly_with_its_name(host, case):
    _, plugin, fragment = BROKEN[case]
    host.register(plugin, name="direct-plugin")
    try:
        with pytest.raises(PluginError) as err:
            host.components("critic")
            host.components("loss")
        assert "direct-plugin" in str(err.value) and fragment in str(err.value)
    finally:
        host.unregister("direct-plugin")


class InitBomb(GoodCritic):
    name = "init_bomb_critic"

    def __init__(self, cfg, spec, parts):
        raise ZeroDivisionError("the plugin divides by zero in __init__")


class ForwardBomb(GoodCritic):
    name = "forward_bomb_critic"

    def forward(self, x, labels):
        raise IndexError("the plugin indexes past the end in forward")


class WrongShape(GoodCritic):
    name = "wrong_shape_critic"

    def forward(self, x, labels):
        return self.lin(x.flatten(1))  # (N, 1): forgot the squeeze


class BombPlugin:
    @ganzoo.hookimpl
    def register_critics(self, register):
        for cls in (InitBomb, ForwardBomb, WrongShape):
            register(cls)


@pytest.mark.parametrize(
    "critic,fragment",
    [
        ("init_bomb_critic", "ZeroDivisionError: the plugin divides by zero in __init__"),
        ("forward_bomb_critic", "IndexError: the plugin indexes past the end in forward"),
        ("wrong_shape_critic", "returned (2, 1), expected shape (2,)"),
    ],
)
def test_component_that_raises_is_named_before_training(host, tmp_path, critic, fragment):
    host.register(BombPlugin(), name="bomb-plugin")
    try:
        with pytest.raises(PluginError) as err:
            start([*TINY, f"critic={critic}", "constraint=clip", f"out={tmp_path / 'run'}"], host)
    finally:
        host.unregister("bomb-plugin")
    assert f"critic '{critic}'" in str(err.value) and "plugin 'bomb-plugin'" in str(err.value) and fragment in str(err.value)
    assert not (tmp_path / "run").exists()

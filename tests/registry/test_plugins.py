"""The plugin layer: throwaway plugins on a fresh manager, entry points, duplicates, env switches."""

import importlib.metadata as md
import sys
import types

import pytest

import ganzoo
from ganzoo.errors import ConfigError, PluginError
from ganzoo.registry.host import PluginHost, PluginWarning


class TinyCritic(ganzoo.Critic):
    name = "tiny_test_critic"
    description = "a throwaway critic"

    def __init__(self, cfg, spec, parts):
        super().__init__(cfg, spec, parts)
        self.lin = __import__("torch").nn.Linear(spec.channels * spec.size**2, 1)

    def forward(self, x, labels):
        return self.lin(x.flatten(1)).squeeze(1)


class Throwaway:
    @ganzoo.hookimpl
    def register_critics(self, register):
        register(TinyCritic)


def _module(name, **attrs):
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    return mod


class FakeDist:
    def __init__(self, name, version="9.9"):
        self.name, self.version = name, version


def _entry_point(name, value, dist="some-dist"):
    ep = md.EntryPoint(name=name, value=value, group="ganzoo")
    return ep._for(FakeDist(dist)) if hasattr(ep, "_for") else ep


def test_throwaway_plugin_is_listed_and_usable_by_name(host):
    name = host.register(Throwaway(), name="throwaway")
    try:
        assert host.get("critic", "tiny_test_critic") is TinyCritic
        listed = [e.name for e in host.list_components("critic", "tiny*")]
        assert listed == ["tiny_test_critic"]
        from ganzoo.registry.config import resolve

        cfg = resolve(["critic=tiny_test_critic", "data=synthetic"], host)
        assert cfg.name("critic") == "tiny_test_critic"
    finally:
        host.unregister(name)
    with pytest.raises(ConfigError, match="Unknown critic 'tiny_test_critic'"):
        host.get("critic", "tiny_test_critic")


def test_duplicate_name_is_an_error_naming_both_providers(host):
    class Clash(ganzoo.Critic):
        name = "layernorm_cond"

    class Plugin:
        @ganzoo.hookimpl
        def register_critics(self, register):
            register(Clash)

    host.register(Plugin(), name="clashing-plugin")
    try:
        with pytest.raises(PluginError) as err:
            host.components("critic")
        assert "ganzoo_plugins.critics.layernorm_cond" in str(err.value)
        assert "clashing-plugin" in str(err.value)
    finally:
        host.unregister("clashing-plugin")


@pytest.mark.parametrize(
    "bad,fragment",
    [
        (type("NoName", (ganzoo.Critic,), {}), "without a valid `name`"),
        (type("NotACritic", (), {"name": "x"}), "not a subclass of ganzoo.Critic"),
        (
            type("LooseConfig", (ganzoo.Critic,), {"name": "loose", "Config": type("C", (__import__("pydantic").BaseModel,), {})}),
            "extra='forbid'",
        ),
    ],
)
def test_invalid_registration_names_the_plugin(host, bad, fragment):
    class Plugin:
        @ganzoo.hookimpl
        def register_critics(self, register):
            register(bad)

    host.register(Plugin(), name="bad-plugin")
    try:
        with pytest.raises(PluginError) as err:
            host.components("critic")
        assert "bad-plugin" in str(err.value) and fragment in str(err.value)
    finally:
        host.unregister("bad-plugin")


def test_misspelt_hook_fails_loudly():
    class Typo:
        @ganzoo.hookimpl
        def register_critcs(self, register):
            pass

    host = PluginHost(entry_points=[], builtins=False)
    host.register(Typo(), name="typo")
    with pytest.raises(Exception, match="register_critcs"):
        host.pm.check_pending()


def test_broken_entry_point_is_skipped_with_a_warning(monkeypatch):
    monkeypatch.setitem(sys.modules, "ganzoo_test_good_plugin", _module("ganzoo_test_good_plugin", plugin=Throwaway()))
    eps = [
        _entry_point("broken", "ganzoo_test_does_not_exist_xyz", dist="broken-dist"),
        _entry_point("good", "ganzoo_test_good_plugin:plugin", dist="good-dist"),
    ]
    with pytest.warns(PluginWarning) as record:
        host = PluginHost(entry_points=eps, env={})
    messages = " ".join(str(w.message) for w in record)
    assert "broken" in messages and "broken-dist" in messages
    assert "tiny_test_critic" in host.components("critic")  # the good plugin still works
    assert "layernorm_cond" in host.components("critic")  # and so do the built-ins
    assert {p.name for p in host.plugins()} >= {"good"}
    assert "broken" not in {p.name for p in host.plugins()}


def test_third_party_hook_that_raises_is_skipped_with_a_warning(monkeypatch):
    class Raising:
        @ganzoo.hookimpl
        def register_critics(self, register):
            raise RuntimeError("boom inside the hook")

    monkeypatch.setitem(sys.modules, "ganzoo_test_raising", _module("ganzoo_test_raising", plugin=Raising()))
    host = PluginHost(entry_points=[_entry_point("raising", "ganzoo_test_raising:plugin")], env={})
    with pytest.warns(PluginWarning, match="raising.*boom inside the hook"):
        critics = host.components("critic")
    assert "layernorm_cond" in critics


def test_autoload_switch_and_block_list(monkeypatch):
    monkeypatch.setitem(sys.modules, "ganzoo_test_good_plugin", _module("ganzoo_test_good_plugin", plugin=Throwaway()))
    eps = [_entry_point("good", "ganzoo_test_good_plugin:plugin", dist="good-dist")]
    loaded = PluginHost(entry_points=eps, env={})
    assert "tiny_test_critic" in loaded.components("critic")
    off = PluginHost(entry_points=eps, env={"GANZOO_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert "tiny_test_critic" not in off.components("critic")
    for blocked in ("good", "good-dist"):
        host = PluginHost(entry_points=eps, env={"GANZOO_BLOCK_PLUGINS": f"other, {blocked}"})
        assert "tiny_test_critic" not in host.components("critic")


def test_plugin_versions_are_reported(host):
    versions = host.versions()
    assert versions["ganzoo_plugins.critics.layernorm_cond"] == ganzoo.__version__


def test_list_uses_patterns_and_natural_sort():
    class Many:
        @ganzoo.hookimpl
        def register_losses(self, register):
            for n in ("r10", "r2", "r1"):
                register(type(f"L{n}", (ganzoo.Loss,), {"name": n}))

    host = PluginHost(entry_points=[], builtins=False)
    host.register(Many(), name="many")
    assert [e.name for e in host.list_components("loss", "r*")] == ["r1", "r2", "r10"]
    assert host.list_components("loss", "zzz*") == []
    with pytest.raises(ConfigError, match="Unknown component kind 'critc'"):
        host.list_components("critc")


def test_every_hook_is_a_registry_hook_with_one_register_argument(host):
    import inspect

    from ganzoo import hookspecs
    from ganzoo.registry.host import HOOKS

    specs = {n for n, f in vars(hookspecs).items() if n.startswith("register_") and callable(f)}
    assert specs == set(HOOKS.values())
    for name in specs:
        assert list(inspect.signature(getattr(hookspecs, name)).parameters) == ["register"]


def test_plugin_keeps_working_when_a_hook_gains_an_argument(monkeypatch):
    """A later ganzoo may pass more arguments; implementations taking a subset keep working (pluggy)."""
    from ganzoo import hookspecs
    from ganzoo.registry import host as plugins

    future = types.ModuleType("future_hookspecs")
    for name in plugins.HOOKS.values():
        setattr(future, name, getattr(hookspecs, name))

    @hookspecs.hookspec
    def register_critics(register, context):
        """The same hook with an argument added."""

    future.register_critics = register_critics
    monkeypatch.setattr(plugins, "hookspecs", future)
    monkeypatch.setattr(PluginHost, "_hook_arguments", lambda self, register: {"register": register, "context": "new"})
    host = PluginHost(entry_points=[], builtins=False)
    host.register(Throwaway(), name="written-against-the-old-hook")
    assert host.get("critic", "tiny_test_critic") is TinyCritic

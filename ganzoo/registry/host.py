"""The plugin host: loads plugins and is the only module that calls ``pm.hook``.

Built-in plugin modules are listed in ``registry.toml`` (:mod:`ganzoo.registry.catalogue`); third-party packages add theirs through
the ``ganzoo`` entry-point group. Everything else in ganzoo asks this facade:
``host.get(kind, name)``, ``host.create(...)``, ``host.list_components(kind, pattern)``.

Environment switches (like pytest's ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` and ``-p no:name``):
``GANZOO_DISABLE_PLUGIN_AUTOLOAD=1`` loads no entry points; ``GANZOO_BLOCK_PLUGINS=a,b`` skips the
entry points (or distributions) named a and b. It is longer than 300 lines as ruff formats it
(by two): it is the one module that touches ``pm.hook``.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.metadata as md
import os
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Iterator, Mapping

import pluggy
from pydantic import BaseModel

from ganzoo import hookspecs
from ganzoo.components import BASES, KINDS, Component
from ganzoo.errors import GanzooError, PluginError, unknown
from ganzoo.registry.catalogue import builtin_modules
from ganzoo.registry.names import natural_key
from ganzoo.version import __version__

ENTRY_POINT_GROUP = "ganzoo"
HOOKS = {
    "critic": "register_critics",
    "generator": "register_generators",
    "normaliser": "register_normalisers",
    "encoder": "register_encoders",
    "constraint": "register_constraints",
    "loss": "register_losses",
    "dataset": "register_datasets",
}


class PluginWarning(UserWarning):
    """A third-party plugin was skipped because it failed."""


@dataclass(frozen=True)
class Entry:
    """One registered component: its class and the plugin that provided it."""

    kind: str
    name: str
    cls: type[Component]
    provider: str

    @property
    def description(self) -> str:
        return self.cls.description

    @property
    def reference(self) -> str:
        return self.cls.reference


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    source: str  # "builtin", "entry point" or "registered"
    distribution: str = ""  # the installed distribution that provides it ("ganzoo" for built-ins)
    error: str = ""  # why its components were skipped, when a hook of it failed


class PluginHost:
    """A plugin manager plus the component registry built from it."""

    def __init__(
        self,
        *,
        builtins: bool = True,
        entry_points: Iterable[md.EntryPoint] | None = None,
        env: Mapping[str, str] | None = None,
    ):
        self.pm = pluggy.PluginManager("ganzoo")
        self.pm.add_hookspecs(hookspecs)
        self._info: dict[str, PluginInfo] = {}
        self._third_party: set[str] = set()
        self._components: dict[str, dict[str, Entry]] | None = None
        env = os.environ if env is None else env
        if builtins:
            self._load_builtins()
        if env.get("GANZOO_DISABLE_PLUGIN_AUTOLOAD", "") in ("", "0"):
            blocked = {b.strip() for b in env.get("GANZOO_BLOCK_PLUGINS", "").split(",") if b.strip()}
            eps = md.entry_points(group=ENTRY_POINT_GROUP) if entry_points is None else entry_points
            self._load_entry_points(eps, blocked)
        self.pm.check_pending()

    # -- loading ---------------------------------------------------------------------------
    def _load_builtins(self) -> None:
        for module_name in builtin_modules():
            module = importlib.import_module(module_name)
            self.register(module, name=module_name, source="builtin", version=__version__, distribution="ganzoo")

    def _load_entry_points(self, eps: Iterable[md.EntryPoint], blocked: set[str]) -> None:
        for ep in eps:
            dist = getattr(ep, "dist", None)
            dist_name = dist.name if dist is not None else "unknown distribution"
            version = dist.version if dist is not None else "?"
            if ep.name in blocked or dist_name in blocked:
                continue
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name, source="entry point", version=version, distribution=dist_name)
                self.pm.check_pending()
            except Exception as exc:  # a broken third-party plugin must not break ganzoo
                if self.pm.has_plugin(ep.name):
                    self.pm.unregister(name=ep.name)
                    self._info.pop(ep.name, None)
                warnings.warn(
                    f"Skipped ganzoo plugin '{ep.name}' from distribution '{dist_name}' "
                    f"({ep.value}): {type(exc).__name__}: {_sentence(exc)} Set GANZOO_BLOCK_PLUGINS={ep.name} "
                    "to silence this, or GANZOO_DISABLE_PLUGIN_AUTOLOAD=1 to load no plugins.",
                    PluginWarning,
                    stacklevel=2,
                )
                continue
            self._third_party.add(ep.name)

    def register(
        self, plugin: object, name: str | None = None, *, source: str = "registered", version: str = "", distribution: str = ""
    ) -> str:
        """Register a plugin object (module or instance); tests use this with throwaway plugins."""
        name = self.pm.register(plugin, name=name) or name or ""
        self._info[name] = PluginInfo(name=name, version=version, source=source, distribution=distribution)
        self._components = None
        return name

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self._info.pop(name, None)
        self._components = None

    # -- the registry ----------------------------------------------------------------------
    def _collect(self) -> dict[str, dict[str, Entry]]:
        if self._components is not None:
            return self._components
        found: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
        for kind in KINDS:
            hook = getattr(self.pm.hook, HOOKS[kind])
            for impl in hook.get_hookimpls():
                provider = self.pm.get_name(impl.plugin) or repr(impl.plugin)
                staged: list[Entry] = []

                def register(cls: type, _kind: str = kind, _provider: str = provider, _staged: list = staged) -> None:
                    _staged.append(Entry(_kind, _validate(cls, _kind, _provider), cls, _provider))

                try:
                    offered = self._hook_arguments(register)
                    impl.function(**{arg: offered[arg] for arg in impl.argnames if arg in offered})
                except Exception as exc:
                    info = self._info.get(provider)
                    dist = f" from distribution '{info.distribution}'" if info is not None and info.distribution else ""
                    msg = f"Plugin '{provider}'{dist} failed in {HOOKS[kind]}: {type(exc).__name__}: {_sentence(exc)}"
                    if provider in self._third_party:
                        if info is not None and not info.error:
                            self._info[provider] = replace(info, error=f"{HOOKS[kind]} raised {type(exc).__name__}: {_sentence(exc)}")
                        warnings.warn(
                            f"{msg} Its components were skipped. Set GANZOO_BLOCK_PLUGINS={provider} to silence this.",
                            PluginWarning,
                            stacklevel=2,
                        )
                        continue
                    raise PluginError(msg) from exc
                for entry in staged:
                    other = found[kind].get(entry.name)
                    if other is not None:
                        raise PluginError(
                            f"Two plugins register a {kind} named '{entry.name}': '{other.provider}' and "
                            f"'{entry.provider}'. Component names must be unique; uninstall or block one "
                            f"of them (GANZOO_BLOCK_PLUGINS=name)."
                        )
                    found[kind][entry.name] = entry
        self._components = found
        return found

    def _hook_arguments(self, register: Any) -> dict[str, Any]:
        """What the registry hooks are called with. A plugin may accept any subset (as pluggy allows),
        so adding an argument here later never breaks an existing plugin."""
        return {"register": register}

    def components(self, kind: str) -> dict[str, Entry]:
        if kind not in KINDS:
            raise unknown("component kind", kind, KINDS)
        return self._collect()[kind]

    def get(self, kind: str, name: str) -> type[Any]:
        """The class registered as ``name``, or a did-you-mean error listing the valid names."""
        entries = self.components(kind)
        if name not in entries:
            raise unknown(kind, name, entries)
        return entries[name].cls

    def list_components(self, kind: str | None = None, pattern: str = "*") -> list[Entry]:
        """Components of one kind (or all), filtered by a shell-style pattern, naturally sorted."""
        kinds = KINDS if kind is None else (kind,)
        out = [e for k in kinds for e in self.components(k).values() if fnmatch.fnmatchcase(e.name, pattern)]
        return sorted(out, key=lambda e: (KINDS.index(e.kind), natural_key(e.name)))

    def plugins(self) -> list[PluginInfo]:
        """Every loaded plugin, with the failure of any hook of it (``error``)."""
        self._collect()  # runs the registry hooks, so that a plugin failing in one shows its error
        return sorted(self._info.values(), key=lambda p: (p.source != "builtin", natural_key(p.name)))

    # -- which plugin a failure comes from ------------------------------------------------------
    def culprit(self, exc: BaseException) -> Entry | None:
        """The registered component whose code raised ``exc``: the innermost frame of its traceback
        that runs in a module defining a component (the frame's ``self`` picks between several
        components of one module). None when no component's code is on the traceback."""
        by_module: dict[str, list[Entry]] = {}
        for kind in KINDS:
            for entry in self.components(kind).values():
                by_module.setdefault(entry.cls.__module__, []).append(entry)
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
        for frame in reversed(frames):
            entries = by_module.get(frame.f_globals.get("__name__", ""))
            if entries:
                owner = frame.f_locals.get("self")
                return next((e for e in entries if isinstance(owner, e.cls) or owner is e.cls), entries[0])
        return None

    def who(self, entry: Entry) -> str:
        """ "the normaliser 'x' (from plugin 'p', distribution 'd')": how errors name a component."""
        info = self._info.get(entry.provider)
        dist = f", distribution '{info.distribution}'" if info is not None and info.distribution else ""
        return f"the {entry.kind} '{entry.name}' (from plugin '{entry.provider}'{dist})"

    @contextmanager
    def blamed(self, doing: str | Callable[[], str]) -> Iterator[None]:
        """An exception from a component's code inside this block becomes one paragraph that names the
        component, its plugin and distribution and what ganzoo was ``doing`` (exit 2). Exceptions
        from ganzoo's own code pass through unchanged."""
        try:
            yield
        except (GanzooError, KeyboardInterrupt):
            raise
        except Exception as exc:
            entry = self.culprit(exc)
            if entry is None:
                raise
            what = doing() if callable(doing) else doing
            message = " ".join(str(exc).split()) or "(no message)"
            raise PluginError(
                f"{self.who(entry)[0].upper()}{self.who(entry)[1:]} raised {type(exc).__name__}: {message} while {what}. "
                f"The plugin '{entry.provider}' has a bug or cannot handle this setting: choose another {entry.kind}, or "
                "report it to the plugin's authors with this message."
            ) from exc

    def versions(self) -> dict[str, str]:
        return {p.name: p.version for p in self.plugins()}


def _sentence(exc: BaseException) -> str:
    """An exception's message as one sentence ending in a full stop."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if text.endswith((".", "!", "?")) else text + "."


def _validate(cls: Any, kind: str, provider: str) -> str:
    base = BASES[kind]
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"Plugin '{provider}' registered {cls!r} as a {kind}, but it is not a subclass of ganzoo.{base.__name__}.")
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_\-]*", name or ""):
        raise PluginError(
            f"Plugin '{provider}' registered the {kind} class {cls.__qualname__} without a valid `name` "
            "(a string of letters, digits, '_' or '-', starting with a letter)."
        )
    config = getattr(cls, "Config", None)
    if not (isinstance(config, type) and issubclass(config, BaseModel)) or config.model_config.get("extra") != "forbid":
        raise PluginError(
            f"Plugin '{provider}' registered the {kind} '{name}' whose `Config` is not a pydantic model "
            "with extra='forbid'. Subclass ganzoo.Config."
        )
    return name


_default: PluginHost | None = None


def default_host() -> PluginHost:
    """The process-wide host: built-ins plus autoloaded entry points, created on first use."""
    global _default
    if _default is None:
        _default = PluginHost()
    return _default

"""What a component is and which options it takes, as plain data: ``ganzoo show KIND NAME`` and
``ganzoo list`` print it. Everything comes from the class itself: its ``description``,
``reference``, class flags and its pydantic ``Config`` (type, default, bounds, description)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel

from ganzoo.components import BASES, ref_fields
from ganzoo.registry.host import PluginHost

BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("multiple_of", "multiple of"))


def type_name(annotation: Any) -> str:
    """A readable type: ``int``, ``float or none``, ``one of: fp32, bf16``, ``(float, float)``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of: " + ", ".join(str(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join("none" if a is type(None) else type_name(a) for a in args)
    if origin is tuple:
        return "(" + ", ".join(type_name(a) for a in args) + ")"
    return getattr(annotation, "__name__", str(annotation))


def options(config: type[BaseModel], host: PluginHost, prefix: str, role: str = "") -> list[dict[str, Any]]:
    """One entry per option of a Config: key, type, default, allowed values, description. ``role``
    ("critic", "generator") limits the encoders offered to those usable there."""
    refs = ref_fields(type("_", (), {"Config": config}))
    out = []
    for name, info in config.model_fields.items():
        allowed = [f"{word} {getattr(m, attr)}" for m in info.metadata for attr, word in BOUNDS if getattr(m, attr, None) is not None]
        entry = {
            "key": f"{prefix}.{name}",
            "type": type_name(info.annotation),
            "default": None if info.is_required() else info.default,
            "required": info.is_required(),
            "allowed": ", ".join(allowed),
            "description": info.description or "",
        }
        if name in refs:
            entries = host.components(refs[name])
            usable = sorted(n for n, e in entries.items() if not role or role in getattr(e.cls, "roles", {role}))
            entry["type"] = f"{refs[name]} name"
            entry["allowed"] = ", ".join(usable)
            entry["picks"] = refs[name]
        out.append(entry)
    return out


def flags(cls: type) -> dict[str, Any]:
    """The class flags the engine reads (those its base class declares, as set on ``cls``)."""
    base = BASES[cls.kind]
    names = [
        n
        for n, v in vars(base).items()
        if not n.startswith("_")
        and isinstance(v, (bool, str, frozenset, int, float))
        and n not in ("kind", "name", "description", "reference")
    ]
    return {n: (sorted(getattr(cls, n)) if isinstance(getattr(cls, n), frozenset) else getattr(cls, n)) for n in names}


def describe(host: PluginHost, kind: str, name: str) -> dict[str, Any]:
    """Everything ``ganzoo show`` prints about one component, including the options of the parts
    its own options pick (the default normaliser's ``critic.norm.*``...)."""
    cls = host.get(kind, name)
    entry = host.components(kind)[name]
    slot = "data" if kind == "dataset" else kind
    out = {
        "kind": kind,
        "name": name,
        "provider": entry.provider,
        "description": cls.description,
        "reference": cls.reference,
        "flags": flags(cls),
        "options": options(cls.Config, host, slot, role=kind if kind in ("critic", "generator") else ""),
        "sub_options": {},
    }
    for field, sub_kind in ref_fields(cls).items():
        default = cls.Config.model_fields[field].default
        if isinstance(default, str) and default in host.components(sub_kind):
            sub = host.get(sub_kind, default)
            out["sub_options"][f"{slot}.{field}"] = {"default": default, "options": options(sub.Config, host, f"{slot}.{field}")}
    return out

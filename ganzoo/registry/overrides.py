"""The ``key=value`` syntax of the command line: the one parser of overrides, lists and alternatives.

One meaning everywhere, as in Hydra:

- a list is written in brackets: ``train.betas=[0.5,0.999]``, ``resume.allow=[train.lr_d,train.steps]``
  (commas inside brackets stay inside one value; ``[[0,0.9],[0.5,0.99]]`` is a list of lists);
- a bare comma separates alternatives: ``critic.norm=batch,layer`` is two values to try, one after
  the other. ``ganzoo sweep`` and ``ganzoo bench --matrix`` take alternatives (:func:`axes`), and
  so do the choices of ``ganzoo tune --space KEY=choice:a,b``. A command that runs one
  configuration (``ganzoo run``, a tune study's fixed overrides, ``ganzoo eval``) refuses them with
  one paragraph whose "did you mean" shows the list form.

Every command reads ``key=value`` with :func:`split_item` (one error for a malformed item). Values
stay strings; pydantic converts them when the configuration is validated.
"""

from __future__ import annotations

from typing import Any

from ganzoo.errors import ConfigError


def split_item(item: str) -> tuple[str, str]:
    """``"key=value"`` -> ``("key", "value")`` (at the first ``=``); one paragraph when it is not of that form."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(
            f"Cannot read the override '{item}': overrides have the form key=value, for example "
            "critic=layernorm_cond, critic.norm=layer or train.steps=100 (a list in brackets, train.betas=[0.5,0.999]; "
            "alternatives for ganzoo sweep and bench --matrix with commas, critic.norm=batch,layer)."
        )
    return key, value


def alternatives(raw: str) -> list[str]:
    """Split at the commas outside brackets: ``a,b`` -> [a, b]; ``[0,0.9],[0.5,0.99]`` -> two values.
    Empty parts are dropped."""
    parts, depth, current = [], 0, ""
    for ch in raw:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_value(raw: str) -> Any:
    """One value: ``[a, b]`` is a list (``[[0,0.9],[0.5,0.99]]`` a list of lists), anything else a string
    for pydantic to coerce. Inside brackets a comma separates the list's items."""
    text = raw.strip()
    if text.startswith("[") and text.endswith("]") and len(alternatives(text)) == 1:
        inner = text[1:-1].strip()
        return [parse_value(p) for p in alternatives(inner)] if inner else []
    return text


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["a=1", "b.c=x"]`` -> ``{"a": "1", "b.c": "x"}``; a later key wins over an earlier one.

    The overrides of one run: a value with alternatives (``key=a,b``) is refused, pointing to the
    list form and to ``ganzoo sweep``."""
    out: dict[str, Any] = {}
    for item in items:
        key, value = split_item(item)
        choices = alternatives(value)
        if len(choices) > 1:
            raise ConfigError(
                f"{key}={value.strip()} gives {len(choices)} alternatives: a bare comma separates values to try one after another, "
                f"and a run takes one value for each key. Did you mean the list {as_override(key, choices)}? (A list is written in "
                f"brackets.) To run each alternative, use ganzoo sweep {key}={value.strip()} (or ganzoo bench --matrix "
                f"{key}={value.strip()})."
            )
        out[key] = parse_value(value)
    return out


def axes(items: list[str]) -> list[tuple[str, list[str]]]:
    """``["critic.norm=batch,layer", "train.steps=5"]`` -> ``[("critic.norm", ["batch", "layer"]), ("train.steps", ["5"])]``:
    each key with its alternatives (one, or none for ``key=``), as ``ganzoo sweep`` and ``bench --matrix`` read them."""
    return [(key, alternatives(value)) for key, value in map(split_item, items)]


def as_override(key: str, values: list[str]) -> str:
    """``key=value`` for one value, the list ``key=[a,b]`` for several: how ganzoo writes a list it suggests."""
    return f"{key}={values[0]}" if len(values) == 1 else f"{key}=[{','.join(values)}]"


def merged(items: list[str], later: list[str]) -> list[str]:
    """``items`` then ``later``, leaving out each item whose key ``later`` sets: a command line that
    ganzoo composes itself (a tune trial, a bench process) gives each key once."""
    keys = {item.partition("=")[0].strip() for item in later}
    return [*(item for item in items if item.partition("=")[0].strip() not in keys), *later]


def refuse_repeats(items: list[str]) -> None:
    """Refuse a key given twice on one command line (``train.steps=8 train.steps=3``), which would
    otherwise quietly take the last value."""
    seen: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            continue  # split_item explains a malformed item
        if key in seen:
            raise ConfigError(f"{key} is given twice: {key}={seen[key]} and {key}={value}. Give each key once, with the value you mean.")
        seen[key] = value

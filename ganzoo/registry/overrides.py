"""The ``key=value`` syntax of the command line: the one parser of overrides and lists.

A value with commas is a list: ``train.betas=0.5,0.999``. Commas inside brackets stay inside one
value, so ``train.betas=[0,0.9],[0.5,0.99]`` is a list of two lists. ``ganzoo sweep`` and ``ganzoo
bench --matrix`` read their alternatives (``key=a,b``) with the same :func:`split_values`.
Values stay strings; pydantic converts them when the configuration is validated.
"""

from __future__ import annotations

from typing import Any

from ganzoo.errors import ConfigError


def split_values(raw: str) -> list[str]:
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
    """CLI values stay strings for pydantic to coerce; ``a,b`` and ``[a, b]`` become lists
    (``[[0,0.9],[0.5,0.99]]`` and ``[0,0.9],[0.5,0.99]`` lists of lists)."""
    text = raw.strip()
    if text.startswith("[") and text.endswith("]") and len(split_values(text)) == 1:
        inner = text[1:-1].strip()
        return [parse_value(p) for p in split_values(inner)] if inner else []
    if len(split_values(text)) > 1:
        return [parse_value(p) for p in split_values(text)]
    return text


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["a=1", "b.c=x"]`` -> ``{"a": "1", "b.c": "x"}``; a later key wins over an earlier one."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                f"Cannot read the override '{item}': overrides have the form key=value, for example "
                "critic=layernorm_cond, critic.norm=layer or train.steps=100."
            )
        out[key] = parse_value(value)
    return out


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
            continue  # parse_overrides explains a malformed item
        if key in seen:
            raise ConfigError(f"{key} is given twice: {key}={seen[key]} and {key}={value}. Give each key once, with the value you mean.")
        seen[key] = value

"""Which key of a run's configuration goes where: the routing table of ``key=value`` keys.

A key's shape (its dotted parts) decides its place: ``critic=dcgan`` picks a component,
``critic.norm=layer`` and ``train.steps=100`` set an option, ``critic.norm.groups=8`` sets an option
of the part an option picks, ``seed=`` and the other scalars stand alone, and ``resume.allow=`` goes
with ``resume=``. :data:`ROUTES` is the one table of these shapes; :func:`route` sorts a merged
configuration by it, and refuses a key no row takes with the valid shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ganzoo.errors import ConfigError, did_you_mean

# The config key for each component kind a run picks.
SLOTS = {"critic": "critic", "generator": "generator", "constraint": "constraint", "loss": "loss", "data": "dataset"}
SCALARS = ("seed", "out", "preset", "resume")


@dataclass
class Routed:
    """The merged keys, sorted by where their values go."""

    keys: set[str]  # every key given (resume.allow needs to know whether resume= is one)
    picks: dict[str, str] = field(default_factory=dict)  # slot -> component name
    options: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {slot: {} for slot in [*SLOTS, "train"]}
    )  # slot or train -> option -> value
    nested: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {slot: {} for slot in SLOTS}
    )  # slot -> field -> option -> value
    scalars: dict[str, Any] = field(default_factory=dict)  # seed, out, preset, resume


def _pick(r: Routed, parts: list[str], value: Any) -> None:
    if not isinstance(value, str):
        raise ConfigError(f"'{parts[0]}' picks a component by name, got {value!r}.")
    r.picks[parts[0]] = value


def _option(r: Routed, parts: list[str], value: Any) -> None:
    r.options[parts[0]][parts[1]] = value


def _sub_option(r: Routed, parts: list[str], value: Any) -> None:
    r.nested[parts[0]].setdefault(parts[1], {})[parts[2]] = value


def _scalar(r: Routed, parts: list[str], value: Any) -> None:
    r.scalars[parts[0]] = value


def _resume_allow(r: Routed, parts: list[str], value: Any) -> None:
    """Only with ``resume=``; what it allows is checked by the resume policy (:mod:`ganzoo.registry.resume`)."""
    if "resume" not in r.keys:
        raise ConfigError("resume.allow= lists the keys a resumed run may change, so it only applies together with resume=RUN_DIR.")


# Where a key's value goes, by the key's shape (its dotted parts, none empty): (shape, test, place).
# The first row whose test holds routes the key; a key no row takes is refused with the valid shapes.
ROUTES: tuple[tuple[str, Callable[[list[str]], bool], Callable[[Routed, list[str], Any], None]], ...] = (
    ("KIND=NAME", lambda p: len(p) == 1 and p[0] in SLOTS, _pick),  # critic=dcgan
    ("KIND.OPTION", lambda p: len(p) == 2 and p[0] in (*SLOTS, "train"), _option),  # critic.norm=layer, train.steps=100
    ("KIND.FIELD.OPTION", lambda p: len(p) == 3 and p[0] in SLOTS, _sub_option),  # critic.norm.groups=8
    ("SCALAR", lambda p: len(p) == 1 and p[0] in SCALARS, _scalar),  # seed=1, out=DIR, preset=NAME, resume=DIR
    ("resume.allow", lambda p: p == ["resume", "allow"], _resume_allow),
)


def route(merged: dict[str, Any]) -> Routed:
    """Sort every key of ``merged`` by :data:`ROUTES`; an unknown key is one paragraph with the valid ones."""
    routed = Routed(set(merged))
    for key, value in merged.items():
        parts = key.split(".")
        place = next((place for _, test, place in ROUTES if all(parts) and test(parts)), None)
        if place is None:
            valid = [
                *SLOTS,
                *(f"{s}.OPTION" for s in SLOTS),
                "KIND.FIELD.OPTION (e.g. critic.norm.groups)",
                "train.OPTION",
                *SCALARS,
                "resume.allow",
            ]
            hint = did_you_mean(parts[0], [*SLOTS, "train", *SCALARS])
            raise ConfigError(f"Unknown key '{key}'.{hint} Valid keys: {', '.join(valid)}.")
        place(routed, parts, value)
    return routed

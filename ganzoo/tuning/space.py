"""The search space of ``ganzoo tune``: ``--space KEY=KIND:RANGE`` and ``--objective NAME:DIRECTION``.

    --space 'train.lr_d=log:1e-5..1e-3'          a float, sampled on a log scale
    --space 'constraint.weight=float:1..20'      a float, uniformly
    --space 'train.n_critic=int:1..5'            an integer
    --space 'critic.norm=choice:batch,layer'     one of the listed alternatives (a list in brackets: train.betas=choice:[0,0.9],[0.5,0.99])

Any key ``ganzoo run`` accepts may be searched, component names included. An option that exists
only for some components (``critic.stem`` exists for ``critic=dcgan`` only) is sampled only in
trials that choose such a component, so conditional spaces need no syntax: component keys are
sampled first, then the parts they pick, then options.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ganzoo.errors import ConfigError, did_you_mean
from ganzoo.evaluation.metrics import QUALITY
from ganzoo.registry.config import SLOTS, merge_preset, resolve
from ganzoo.registry.host import PluginHost
from ganzoo.registry.overrides import alternatives, parse_overrides

KINDS = ("log", "float", "int", "choice")
# What an objective may name: every figure `ganzoo eval` writes (QUALITY, with its aliases), and speed.
ALIASES = {alias: q.key for q in QUALITY for alias in q.aliases}
SCORES = (*(q.key for q in QUALITY if q.higher_is_better is not None), "diversity_min", "fd", "steps_per_s")


@dataclass(frozen=True)
class Param:
    key: str
    kind: str  # log, float, int, choice
    low: float = 0.0
    high: float = 0.0
    choices: tuple[str, ...] = ()

    def sample(self, trial: Any) -> Any:
        if self.kind == "choice":
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high))
        return trial.suggest_float(self.key, self.low, self.high, log=self.kind == "log")

    @property
    def text(self) -> str:
        """The ``--space`` argument this parameter came from."""
        return f"{self.key}={self.kind}:" + (",".join(self.choices) if self.kind == "choice" else f"{self.low:g}..{self.high:g}")

    def probes(self) -> list[str]:
        """Values to validate, as a trial would write them: each choice; both ends of a range, and a
        value between them (not a whole number, so an integer option refuses a float range)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return [str(int(self.low)), str(int(self.high))]
        inner = (
            math.exp(math.log(self.low) + 0.382 * math.log(self.high / self.low))
            if self.kind == "log"
            else self.low + 0.382 * (self.high - self.low)
        )
        return [f"{v:.6g}" for v in (self.low, self.high, inner)]

    @property
    def order(self) -> int:
        """Component picks first, then the parts they pick (``critic.norm``), then options."""
        head, _, rest = self.key.partition(".")
        return 0 if head in SLOTS and not rest else 1 if head in SLOTS and "." not in rest else 2


def parse_space(specs: list[str]) -> list[Param]:
    out = []
    for spec in specs:
        key, sep, rule = spec.partition("=")
        kind, colon, rng = rule.partition(":")
        key, kind = key.strip(), kind.strip()
        example = "e.g. --space 'train.lr_d=log:1e-5..1e-3' or --space 'critic.norm=choice:batch,layer'"
        if not sep or not key or not colon or kind not in KINDS:
            raise ConfigError(
                f"Cannot read --space {spec!r}: the form is KEY=KIND:RANGE with KIND one of "
                f"{', '.join(KINDS)}.{did_you_mean(kind, KINDS)} ({example})."
            )
        if any(p.key == key for p in out):
            raise ConfigError(f"--space names {key} twice; give each key one range.")
        if kind == "choice":
            choices = tuple(alternatives(rng))
            if len(choices) < 2:
                raise ConfigError(f"--space {spec!r}: choice needs at least two values, e.g. {key}=choice:a,b.")
            out.append(Param(key, kind, choices=choices))
            continue
        lo, dots, hi = rng.partition("..")
        try:
            low, high = float(lo), float(hi)
        except ValueError:
            low = high = float("nan")
        if not dots or not (math.isfinite(low) and math.isfinite(high)) or low >= high or (kind == "log" and low <= 0):
            raise ConfigError(
                f"--space {spec!r}: the range must be LOW..HIGH with finite LOW < HIGH"
                + (" and LOW > 0 on a log scale" if kind == "log" else "")
                + f" ({example})."
            )
        if kind == "int" and (low != int(low) or high != int(high)):
            raise ConfigError(f"--space {spec!r}: an int range needs whole numbers, e.g. {key}=int:1..5.")
        out.append(Param(key, kind, low, high))
    return sorted(out, key=lambda p: p.order)


def parse_objectives(specs: list[str]) -> list[tuple[str, str]]:
    """``["class_consistency:max"]`` -> ``[("class_acc", "maximize")]``."""
    if not specs:
        raise ConfigError(
            "ganzoo tune needs an --objective, e.g. --objective class_consistency:max (and, for a Pareto front, a second: "
            "--objective steps_per_s:max)."
        )
    out = []
    for spec in specs:
        name, _, direction = spec.partition(":")
        key = ALIASES.get(name.strip(), name.strip())
        if key not in SCORES:
            valid = sorted({*SCORES, *ALIASES})
            raise ConfigError(f"Unknown objective {name!r}.{did_you_mean(name, valid)} Valid: {', '.join(valid)}.")
        if direction not in ("max", "min"):
            raise ConfigError(f"--objective {spec!r}: say the direction, {name}:max or {name}:min.")
        out.append((key, "maximize" if direction == "max" else "minimize"))
    if len(out) > 2:
        raise ConfigError("ganzoo tune takes one objective, or two for a Pareto front.")
    return out


def sample(trial: Any, space: list[Param], fixed: list[str], host: PluginHost) -> list[str]:
    """The overrides of one trial: ``fixed`` plus a value for every key of ``space`` that applies to
    the components this trial chooses."""
    chosen = _choices(fixed)
    out = []
    for param in space:
        if not _applies(param.key, chosen, host):
            continue
        value = param.sample(trial)
        chosen[param.key] = value
        text = f"{value:.6g}" if isinstance(value, float) else str(value)
        out.append(f"{param.key}={text}")
    return [*fixed, *out]


def check_space(space: list[Param], fixed: list[str], host: PluginHost) -> None:
    """Refuse a space that no trial can run, before any trial: every value a trial may sample (each
    choice; both ends of a range and a value between) must pass ``ganzoo run``'s own validation in
    some combination of the searched components where its key applies, and not every combination of
    the searched components may be one that ganzoo refuses."""
    base = _choices(fixed)
    contexts = _contexts(space, base, host)
    for param in space:
        usable = [c for c in contexts if _applies(param.key, {**base, **c}, host)]
        if not usable:
            raise ConfigError(_unused(param, [{**base, **c} for c in contexts], host))
        for value in param.probes():
            first = None
            for context in usable:
                try:
                    resolve([*fixed, *(f"{k}={v}" for k, v in context.items()), f"{param.key}={value}"], host, check_compat=False)
                    break
                except ConfigError as exc:
                    first = first or exc
            else:
                raise ConfigError(f"--space {param.text!r}: no trial can run with {param.key}={value}: {first}")
    reasons = []
    for context in contexts:
        try:
            resolve([*fixed, *(f"{k}={v}" for k, v in context.items())], host)
            return
        except ConfigError as exc:
            reasons.append(str(exc))
    picked = " with any of the searched components" if len(contexts) > 1 else ""
    raise ConfigError(f"No trial of this study can run: the fixed overrides{picked} are refused. {reasons[0]}")


def _contexts(space: list[Param], base: dict[str, Any], host: PluginHost, limit: int = 512) -> list[dict[str, str]]:
    """The combinations of the searched component picks (``critic``, ``critic.norm``) a trial can make."""
    combos: list[dict[str, str]] = [{}]
    for param in [p for p in space if p.kind == "choice" and p.order < 2]:
        grown: list[dict[str, str]] = []
        for combo in combos:
            if _applies(param.key, {**base, **combo}, host):
                grown += [{**combo, param.key: value} for value in param.choices]
            else:
                grown.append(combo)
        combos = grown[:limit]
    return combos


def _unused(param: Param, chosen: list[dict[str, Any]], host: PluginHost) -> str:
    """The error for a key that applies to no component a trial can choose."""
    head, _, rest = param.key.partition(".")
    names = sorted({str(c.get(head)) for c in chosen})
    options = set()
    for name in names:
        entry = host.components(SLOTS[head]).get(name)
        options |= {f"{head}.{f}" for f in entry.cls.Config.model_fields} if entry else set()
    return (
        f"--space {param.text!r}: no trial would use it: {param.key} is not an option of the {head} a trial can choose "
        f"({', '.join(names)}).{did_you_mean(param.key, options)} Valid options: {', '.join(sorted(options)) or '(none)'}."
    )


def _choices(fixed: list[str]) -> dict[str, Any]:
    """Component names a trial starts from: the preset's, then the fixed overrides (as the configuration
    merges them: a new pick drops the old one's options)."""
    return merge_preset(parse_overrides(fixed))[2]


def _applies(key: str, chosen: dict[str, Any], host: PluginHost) -> bool:
    """True when ``key`` is an option of the components chosen so far (always for train.* and names)."""
    head, _, rest = key.partition(".")
    if head not in SLOTS or not rest:
        return True
    name = chosen.get(head)
    if name is None:
        return True
    cls = host.components(SLOTS[head]).get(str(name))
    if cls is None:
        return True  # an unknown name: the run refuses it with its own message
    field, _, sub = rest.partition(".")
    fields = cls.cls.Config.model_fields
    if not sub:
        return field in fields
    kind = (fields[field].json_schema_extra or {}).get("ganzoo_kind") if field in fields else None
    sub_name = chosen.get(f"{head}.{field}", fields[field].default if field in fields else None)
    sub_entry = host.components(kind).get(str(sub_name)) if kind else None
    return sub_entry is not None and sub in sub_entry.cls.Config.model_fields

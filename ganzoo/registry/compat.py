"""Which components may be used together: every compatibility rule of ganzoo, in one place.

A rule reads the class flags of the chosen components, so it needs no built network and runs
before any data is loaded or any training starts:

- a per-sample penalty (``Constraint.per_sample``) refuses a critic normaliser that couples the
  samples of a batch (``Normaliser.batch_coupled``, BatchNorm);
- a constraint that rewrites weights (``Constraint.acts_on_weights``, clip) refuses a critic
  normaliser that reparametrises them (``Normaliser.reparametrises_weights``, spectral);
- an encoder is refused in a network it was not written for (``Encoder.roles``: projection is
  critic-only, cbn generator-only);
- a normaliser that needs spatial positions (``Normaliser.needs_spatial``, instance norm) is
  refused by a network whose norm layers see 1x1 maps (``feature_maps = False``, the MLP).

Rules see ``picks``: config keys (``"critic"``, ``"critic.norm"``, ``"constraint"``…) mapped to
the chosen classes (:func:`ganzoo.registry.config.picks` makes them from a run configuration).
:func:`check_built` applies the first two rules to a built critic, which also catches third-party
critics that hard-code BatchNorm or spectral normalisation; the engine runs it on every build,
whatever the constraint's own ``check`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from ganzoo.components import ref_fields
from ganzoo.layers import has_reparametrised_weights
from ganzoo.errors import ConfigError
from ganzoo.registry.names import natural_key

if TYPE_CHECKING:
    from ganzoo.components import Constraint, Critic
    from ganzoo.registry.host import PluginHost

NETWORKS = ("critic", "generator")


@dataclass(frozen=True)
class Problem:
    """A refused combination: the config keys involved and why."""

    keys: tuple[str, ...]
    reason: str


Picks = Mapping[str, type]
Rule = Callable[[Picks, "PluginHost | None"], Iterable[Problem]]


def _subs(picks: Picks, net: str, kind: str) -> list[tuple[str, type]]:
    """(config key, class) of every ``kind`` component chosen inside network ``net``."""
    return [(k, c) for k, c in picks.items() if k.startswith(net + ".") and getattr(c, "kind", "") == kind]


def _names(host: "PluginHost | None", kind: str, keep: Callable[[type], bool]) -> str:
    if host is None:
        return ""
    return ", ".join(sorted(n for n, e in host.components(kind).items() if keep(e.cls)))


def _or(names: str) -> str:
    """'a, b, c' -> 'a, b or c'."""
    head, _, last = names.rpartition(", ")
    return f"{head} or {last}" if head else last


def _not_per_sample(host: "PluginHost | None") -> str:
    names = _names(host, "constraint", lambda c: not c.per_sample)
    return f" (constraint={_or(names)})" if names else ""


def _per_sample_penalty(picks: Picks, host: "PluginHost | None") -> Iterable[Problem]:
    constraint = picks.get("constraint")
    if constraint is None or not constraint.per_sample:
        return
    critic = picks.get("critic")
    if critic is not None and getattr(critic, "batch_coupled", False):  # the critic itself couples (minibatch stddev...)
        yield Problem(
            ("critic", "constraint"),
            (
                f"constraint={constraint.name} penalises each sample's input gradient on its own, but critic={critic.name} "
                "couples the samples of a batch by design (batch_coupled = True: a layer such as minibatch standard "
                "deviation reads the whole batch), so each score depends on the others and the penalty does not measure "
                "what it claims. No normaliser can change that: use a constraint that is not a per-sample penalty"
                + _not_per_sample(host)
                + ", or another critic."
            ),
        )
    for key, norm in _subs(picks, "critic", "normaliser"):
        if norm.batch_coupled:
            ok = _names(host, "normaliser", lambda c: not c.batch_coupled)
            yield Problem(
                (key, "constraint"),
                (
                    f"constraint={constraint.name} penalises each sample's input gradient on its own, but "
                    f"{key}={norm.name} is batch-coupled (it mixes the samples of a batch), so each score "
                    "depends on the others and the penalty does not measure what it claims. Use a per-sample "
                    "norm"
                    + (f" ({key}={_or(ok)})" if ok else "")
                    + " or a constraint that is not a per-sample penalty"
                    + _not_per_sample(host)
                    + "."
                ),
            )


def _clip_on_reparametrised(picks: Picks, host: "PluginHost | None") -> Iterable[Problem]:
    constraint = picks.get("constraint")
    if constraint is None or not constraint.acts_on_weights:
        return
    for key, norm in _subs(picks, "critic", "normaliser"):
        if norm.reparametrises_weights:
            yield Problem(
                (key, "constraint"),
                (
                    f"constraint={constraint.name} rewrites the critic's raw weights, but {key}={norm.name} "
                    "rescales every weight after that (spectral normalisation divides it by its largest "
                    "singular value), so the constraint would no longer bound anything; the normaliser "
                    f"already keeps each layer 1-Lipschitz. Use constraint=none with {key}={norm.name}, or "
                    f"another {key} with constraint={constraint.name}."
                ),
            )


def _encoder_roles(picks: Picks, host: "PluginHost | None") -> Iterable[Problem]:
    for net in NETWORKS:
        for key, enc in _subs(picks, net, "encoder"):
            if net not in enc.roles:
                ok = _names(host, "encoder", lambda c, _n=net: _n in c.roles)
                yield Problem(
                    (key,),
                    (
                        f"The encoder '{enc.name}' cannot be used in a {net} ({key}={enc.name}); it works in: "
                        f"{', '.join(sorted(enc.roles))}." + (f" Encoders valid in a {net}: {ok}." if ok else "")
                    ),
                )


def _spatial_norm(picks: Picks, host: "PluginHost | None") -> Iterable[Problem]:
    for net in NETWORKS:
        net_cls = picks.get(net)
        if net_cls is None or getattr(net_cls, "feature_maps", True):
            continue
        for key, norm in _subs(picks, net, "normaliser"):
            if norm.needs_spatial:
                ok = _names(host, "normaliser", lambda c: not c.needs_spatial)
                yield Problem(
                    (net, key),
                    (
                        f"{net}={net_cls.name} applies its norm layers to 1x1 feature vectors, but {key}={norm.name} "
                        "normalises each channel over spatial positions, which a 1x1 map does not have (the "
                        "layer would output zeros)." + (f" Use {key}={_or(ok)}." if ok else "")
                    ),
                )


RULES: tuple[Rule, ...] = (_per_sample_penalty, _clip_on_reparametrised, _encoder_roles, _spatial_norm)


def problems(picks: Picks, host: "PluginHost | None" = None) -> list[Problem]:
    """Every rule's objections to ``picks``; missing keys are simply not checked."""
    return [p for rule in RULES for p in rule(picks, host)]


def coupling_layer(module: "Critic") -> tuple[str, str] | None:
    """(name, type) of the first layer of a built network that mixes the samples of a batch, or None.
    The network itself counts when its class says ``batch_coupled = True``."""
    from torch import nn

    for name, m in module.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) or getattr(m, "batch_coupled", False):
            return (name or "(the network itself)", type(m).__name__)
    return None


def check_built(critic: "Critic", constraint: "Constraint", norm_coupled: bool = False) -> None:
    """The batch-coupling and reparametrisation rules, applied to a built critic's layers (which also
    catches a critic that hard-codes BatchNorm or a minibatch-statistics layer). ``norm_coupled``: the
    coupling comes from the normaliser the user chose (then a per-sample norm is the remedy)."""
    found = coupling_layer(critic) if constraint.per_sample else None
    if found is not None:
        where, kind = found
        remedy = (
            "Use a per-sample norm (critic.norm=layer, for example) or a constraint that is not a per-sample "
            "penalty (constraint=clip or none)."
            if norm_coupled
            else "The layer is part of the critic, so no normaliser can change that: use a constraint that is not "
            "a per-sample penalty (constraint=clip or none), or another critic."
        )
        raise ConfigError(
            f"Constraint '{constraint.name}' penalises each sample's gradient on its own, but critic '{critic.name}' "
            f"contains a batch-coupled layer, {where} ({kind}), so each score depends on the other samples in the "
            f"batch and the penalty is not what it claims to be. {remedy}"
        )
    if constraint.acts_on_weights and has_reparametrised_weights(critic):
        raise ConfigError(
            f"Constraint '{constraint.name}' rewrites the critic's raw weights, but critic '{critic.name}' "
            "reparametrises its weights (spectral normalisation), which rescales them afterwards, so "
            "the constraint would bound nothing. Use constraint=none, or a critic without spectral norm."
        )


# -- the table behind `ganzoo list --combinations` -------------------------------------------------


@dataclass
class Matrix:
    """Rows x columns of component names; ``refused[(row, col)]`` holds the reason where refused."""

    title: str
    rows: list[str]
    cols: list[str]
    refused: dict[tuple[str, str], str] = field(default_factory=dict)
    absent: set[tuple[str, str]] = field(default_factory=set)  # the column's network has no such field

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "allowed": {r: {c: (None if (r, c) in self.absent else self.refused.get((r, c), True)) for c in self.cols} for r in self.rows},
        }


def matrices(host: "PluginHost") -> list[Matrix]:
    """What may be combined with what, for every pair of choices a rule relates. Rows are the longer
    names (networks), columns the short ones, so the tables fit a terminal."""

    def names(kind: str) -> list[str]:
        return sorted(host.components(kind), key=natural_key)

    def refuse(m: Matrix, row: str, col: str, picks: dict[str, type]) -> None:
        found = problems(picks, host)
        if found:
            m.refused[(row, col)] = " ".join(p.reason for p in found)

    out = []
    cons = Matrix("critic.norm (rows) x constraint (columns)", names("normaliser"), names("constraint"))
    for r in cons.rows:
        for c in cons.cols:
            refuse(cons, r, c, {"critic.norm": host.get("normaliser", r), "constraint": host.get("constraint", c)})
    out.append(cons)
    critics = Matrix("critic (rows) x constraint (columns)", [f"critic={n}" for n in names("critic")], names("constraint"))
    for n in names("critic"):
        for c in critics.cols:
            refuse(critics, f"critic={n}", c, {"critic": host.get("critic", n), "constraint": host.get("constraint", c)})
    out.append(critics)
    nets = [(net, n) for net in NETWORKS for n in names(net)]
    for kind, label in (("normaliser", "norm"), ("encoder", "encoder")):
        m = Matrix(f"network (rows) x {NETWORKS[0]}/{NETWORKS[1]}.{label} (columns)", [f"{net}={n}" for net, n in nets], names(kind))
        for net, n in nets:
            net_cls = host.get(net, n)
            fields = ref_fields(net_cls, kind)
            row = f"{net}={n}"
            for col in m.cols:
                if not fields:
                    m.absent.add((row, col))
                    continue
                refuse(m, row, col, {net: net_cls, **{f"{net}.{f}": host.get(kind, col) for f in fields}})
        out.append(m)
    return out

"""The likely cause of each finding in this run's configuration, and a change to try as ``key=value``.

One function per entry of :data:`ganzoo.diagnosis.findings.FINDINGS`, each ``(evidence, seen) ->
(cause, change)``. They read the run's flattened configuration (``critic.norm``, ``train.lr_d``,
...) and its parameter counts, and name the setting that explains the evidence best; the change
is a valid override of that configuration (``tests/diagnosis/test_doctor.py`` resolves every one).
"""

from __future__ import annotations

import math
from typing import Any

from ganzoo.diagnosis.evidence import RunEvidence, Seen, fmt

NO_GAIN = ("none", "spectral")  # built-in normalisers without a learned gain


def _v(x: Any) -> str:
    """A value as an override: 0.0002, 2e-06, 10."""
    return f"{x:g}" if isinstance(x, float) else str(x)


def _f(ev: RunEvidence, key: str, default: float) -> float:
    value = ev.value(key, default)
    return float(value) if isinstance(value, (int, float)) else default


def _size(ev: RunEvidence, net: str, factor: float) -> str | None:
    """``net.base=...`` or ``net.width=...`` scaled by ``factor`` (kept within 1..1024), if the network has one."""
    for option in ("base", "width"):
        value = ev.value(f"{net}.{option}")
        if isinstance(value, int) and not isinstance(value, bool):
            new = max(1, min(1024, int(round(value * factor))))
            if new != value:
                return f"{net}.{option}={new}"
    return None


def _ratio(ev: RunEvidence) -> float | None:
    """Critic parameters over generator parameters, from config.json."""
    c, g = ev.params.get("critic"), ev.params.get("generator")
    return c / g if isinstance(c, int) and isinstance(g, int) and g > 0 else None


def _penalised(ev: RunEvidence) -> bool:
    return ev.has("penalty_share") or ev.value("constraint") not in ("none", "clip", None)


def _gp(ev: RunEvidence) -> str:
    """The gradient penalty in place of the constraint, with a norm that allows it."""
    return "constraint=gp" + (" critic.norm=layer" if ev.value("critic.norm") == "batch" else "")


def numerical(ev: RunEvidence, seen: Seen) -> tuple[str, str]:
    lr_d, lr_g = _f(ev, "train.lr_d", 1e-4), _f(ev, "train.lr_g", 1e-4)
    if seen.form == "exploding" and ev.value("loss") == "wasserstein" and ev.value("constraint") == "none":
        return (
            "loss=wasserstein with constraint=none: nothing bounds the critic's slope, so its scores and gradients grow "
            "without limit instead of estimating a distance.",
            _gp(ev),
        )
    if seen.form == "exploding":
        return (
            f"the learning rates (train.lr_d={_v(lr_d)}, train.lr_g={_v(lr_g)}) are too large for this configuration: "
            "each update makes the next gradient larger.",
            f"train.lr_d={_v(lr_d / 10)} train.lr_g={_v(lr_g / 10)}",
        )
    return (
        "a loss, penalty or gradient went NaN or Inf and the guard undid the step; repeated retries usually mean "
        f"the updates are too large (train.lr_d={_v(lr_d)}, train.lr_g={_v(lr_g)}).",
        f"train.lr_d={_v(lr_d / 2)} train.lr_g={_v(lr_g / 2)}",
    )


def no_signal(ev: RunEvidence, seen: Seen) -> tuple[str, str]:
    norm, limit = ev.value("critic.norm"), ev.value("constraint.limit")
    if ev.value("constraint") == "clip" and norm not in NO_GAIN:
        return (
            f"constraint=clip clamps every critic weight to ±{_v(limit)}, the gains of its norm layers (critic.norm={norm}) "
            f"included: each normalised layer's output is then scaled down to at most {_v(limit)} of its size, so the "
            "score is (nearly) the same number for every image and the generator's gradient is (nearly) zero.",
            _gp(ev),
        )
    if ev.value("constraint") == "clip":
        return (
            f"constraint=clip at ±{_v(limit)} leaves this critic too little range: its output no longer depends on its input.",
            f"constraint.limit={_v(float(limit or 0.01) * 10)}",
        )
    lr_d = _f(ev, "train.lr_d", 1e-4)
    return (
        f"the critic's output stopped depending on its input (it may have collapsed after a large update; train.lr_d={_v(lr_d)}).",
        f"train.lr_d={_v(lr_d / 10)}",
    )


def penalty_dominates(ev: RunEvidence, seen: Seen) -> tuple[str, str]:
    name = ev.value("constraint")
    for option in ("weight", "gamma"):
        value = ev.value(f"constraint.{option}")
        if isinstance(value, (int, float)) and value > 0:
            return (
                f"constraint={name} with constraint.{option}={_v(value)}: the critic's updates go to keeping its gradient in "
                "line rather than to telling real images from generated ones, so its scores carry little signal.",
                f"constraint.{option}={_v(value / 10)}",
            )
    return (
        f"constraint={name}'s penalty outweighs the critic's loss.",
        "constraint=none" if ev.value("critic.norm") == "batch" else "constraint=gp",
    )


def critic_overpowers(ev: RunEvidence, seen: Seen) -> tuple[str, str]:
    lr_d, lr_g, n = _f(ev, "train.lr_d", 1e-4), _f(ev, "train.lr_g", 1e-4), int(_f(ev, "train.n_critic", 1))
    ratio = _ratio(ev)
    if lr_d >= 4 * lr_g:
        return (
            f"train.lr_d={_v(lr_d)} is {lr_d / lr_g:.0f}x train.lr_g={_v(lr_g)}: "
            "the critic moves far faster than the generator can follow.",
            f"train.lr_d={_v(lr_g)}",
        )
    if ratio is not None and ratio >= 4 and _size(ev, "generator", 4):
        return (
            f"the critic has {ev.params['critic']:,} parameters against the generator's {ev.params['generator']:,} ({ratio:.0f}x): "
            "a generator this small cannot make images the critic fails to tell apart.",
            _size(ev, "generator", 4) or "",
        )
    if n > 1:
        return f"train.n_critic={n} critic updates per generator update let the critic run ahead.", "train.n_critic=1"
    return f"the critic learns faster than the generator at train.lr_d={_v(lr_d)}.", f"train.lr_d={_v(lr_d / 4)}"


def generator_overpowers(ev: RunEvidence, seen: Seen) -> tuple[str, str]:
    lr_d, lr_g, n = _f(ev, "train.lr_d", 1e-4), _f(ev, "train.lr_g", 1e-4), int(_f(ev, "train.n_critic", 1))
    betas = ev.value("train.betas") or [0.0, 0.9]
    if seen.form == "oscillate":
        if max(lr_d / lr_g, lr_g / lr_d) >= 4:
            fast, slow = ("train.lr_d", "train.lr_g") if lr_d > lr_g else ("train.lr_g", "train.lr_d")
            return (
                f"{fast}={_v(max(lr_d, lr_g))} is {max(lr_d / lr_g, lr_g / lr_d):.0f}x {slow}={_v(min(lr_d, lr_g))}: each update of "
                "the faster network overshoots what the other has just learned.",
                f"{fast}={_v(min(lr_d, lr_g))}",
            )
        if betas[0] >= 0.9:
            return (
                f"Adam's momentum train.betas=[{_v(betas[0])},{_v(betas[1])}] carries each network past the other's moves.",
                "train.betas=[0.5,0.999]",
            )
        return (
            f"the updates (train.lr_d={_v(lr_d)}, train.lr_g={_v(lr_g)}) are too large to settle.",
            f"train.lr_d={_v(lr_d / 2)} train.lr_g={_v(lr_g / 2)}",
        )
    ratio = _ratio(ev)
    if lr_g >= 4 * lr_d:
        return (
            f"train.lr_d={_v(lr_d)} is {lr_g / lr_d:.0f}x smaller than train.lr_g={_v(lr_g)}: the critic learns too slowly "
            "to keep up, and the generator learns to please a critic that hardly changes.",
            f"train.lr_d={_v(lr_g)}",
        )
    if ratio is not None and ratio <= 0.1 and _size(ev, "critic", 2):
        return (
            f"the critic has {ev.params['critic']:,} parameters against the generator's {ev.params['generator']:,}: "
            "too small to tell its images from real ones.",
            _size(ev, "critic", 2) or "",
        )
    return f"the critic gets too few updates (train.n_critic={n}) to keep up.", f"train.n_critic={n + 1}"


CHARACTERS = ("mnist5k", "mnist", "emnist", "kmnist")  # sets whose mirror images are not real characters (no data.flip)


def critic_overfits(ev: RunEvidence, seen: Seen) -> tuple[str, str]:
    n = seen.numbers
    images = n.get("train_images")
    options = []
    if ev.value("data.flip") is False and ev.value("data") not in CHARACTERS:
        options.append(("mirrored images double what it sees", "data.flip=true"))
    smaller = _size(ev, "critic", 0.5)
    if smaller:
        options.append(("a critic of half the width has less room to memorise", smaller))
    options.append((f"stopping near step {seen.since}, before it memorised", f"train.steps={seen.since}"))
    limit = ev.value("data.limit")
    if limit:
        options.insert(
            0 if ev.split.get("images", 0) > limit else len(options),
            (
                f"more of the data (data.limit={_v(limit)} of {ev.split.get('images', '?')} images)",
                f"data.limit={min(int(limit) * 4, int(ev.split.get('images') or limit * 4))}",
            ),
        )
    cause = (
        f"the critic memorises its {str(images) + ' ' if images else ''}training images rather than learning what makes an image real, "
        f"so its signal to the generator degrades. What helps: {'; '.join(why for why, _ in options)}."
    )
    return cause, options[0][1]


def mode_collapse(ev: RunEvidence, seen: Seen) -> tuple[str, str]:
    lr_d, lr_g = _f(ev, "train.lr_d", 1e-4), _f(ev, "train.lr_g", 1e-4)
    if lr_g > lr_d:
        return (
            f"train.lr_g={_v(lr_g)} is {lr_g / lr_d:.0f}x train.lr_d={_v(lr_d)}: the generator jumps to whatever the critic "
            "currently likes best, faster than the critic can penalise the lack of variety.",
            f"train.lr_g={_v(lr_d)}",
        )
    return f"the generator settles on a few images per class at train.lr_g={_v(lr_g)}.", f"train.lr_g={_v(lr_g / 2)}"


def conditioning_ignored(ev: RunEvidence, seen: Seen) -> tuple[str, str]:
    missing = [net for net in ("critic", "generator") if ev.value(f"{net}.encoder") == "none"]
    if missing:
        names = " and ".join(f"{net}.encoder=none" for net in missing)
        return (
            f"{names}: {'neither network receives' if len(missing) == 2 else 'the ' + missing[0] + ' does not receive'} the labels, "
            "so nothing ties an image to the class it was generated for.",
            " ".join(f"{net}.encoder=onehot_channel" for net in missing),
        )
    if ev.value("critic.encoder") != "projection":
        return (
            f"the labels reach both networks, but the critic (critic.encoder={ev.value('critic.encoder')}) does not use them "
            "strongly enough to punish an image of the wrong class.",
            "critic.encoder=projection",
        )
    return "the labels reach both networks, but the generator does not use them.", "generator.encoder=onehot_channel"


def cheaper_steps(ev: RunEvidence) -> list[tuple[str, str]]:
    """(why, key=value) for each way to make a generator step cheaper in this configuration: fewer
    critic steps, a less frequent penalty (lazy regularisation), a smaller network (the larger one)."""
    out = []
    n = int(_f(ev, "train.n_critic", 1))
    if n > 1:
        out.append((f"{max(1, n // 2)} critic step{'s' if n // 2 > 1 else ''} instead of {n}", f"train.n_critic={max(1, n // 2)}"))
    interval = ev.value("constraint.interval")
    if _penalised(ev) and isinstance(interval, int) and interval < 4:
        out.append((f"constraint={ev.value('constraint')}'s penalty every 4th critic step (lazy regularisation)", "constraint.interval=4"))
    c, g = ev.params.get("critic"), ev.params.get("generator")
    if isinstance(c, int) and isinstance(g, int) and c > 0 and g > 0:
        big = "generator" if g >= c else "critic"
        smaller = _size(ev, big, 0.5)
        if smaller:
            out.append((f"a {big} of half the width (it has {max(c, g):,} parameters against the other's {min(c, g):,})", smaller))
    return out


def out_of_time(ev: RunEvidence, seen: Seen) -> tuple[str, str]:
    n = seen.numbers
    needed = math.ceil(n["minutes_needed"])
    cheaper = cheaper_steps(ev)
    cause = (
        f"each generator step takes {fmt(n['seconds_per_step'])} s here, so train.steps={n['steps_planned']} does not fit in "
        f"train.max_minutes={_v(n['max_minutes'])}: the run stopped at {n['done_share']:.0%} of its plan, whatever else its numbers show. "
        + (f"Make each step cheaper ({'; '.join(why for why, _ in cheaper)}), or " if cheaper else "")
        + f"give it the time the plan needs (train.max_minutes={needed})."
    )
    if cheaper and n["budget_short_by"] > 2:
        return cause, " ".join(change for _, change in cheaper)
    return cause, f"train.max_minutes={needed}"


def too_slow(ev: RunEvidence, seen: Seen) -> tuple[str, str]:
    lr_d, lr_g, n = _f(ev, "train.lr_d", 1e-4), _f(ev, "train.lr_g", 1e-4), int(_f(ev, "train.n_critic", 1))
    _, update = ev.series("g_update")
    if update and max(update) < 1e-5:
        return (
            f"the learning rates are too small to learn anything in this budget: each step changed the generator's weights by "
            f"{fmt(max(update))} of their size at most (train.lr_g={_v(lr_g)}, train.lr_d={_v(lr_d)}).",
            f"train.lr_g={_v(min(lr_g * 100, 2e-4))} train.lr_d={_v(min(lr_d * 100, 2e-4))}",
        )
    cost = [f"{n} critic update{'s' if n > 1 else ''}" + (f" with constraint={ev.value('constraint')}'s penalty" if _penalised(ev) else "")]
    ratio = _ratio(ev)
    if ev.params:
        cost.append(
            f"a generator of {ev.params.get('generator', 0):,} and a critic of {ev.params.get('critic', 0):,} parameters"
            + (f" (the generator, {1 / ratio:.0f}x the critic's size, is most of the cost)" if ratio and ratio <= 0.1 else "")
        )
    minutes = ev.value("train.max_minutes")
    stopped = isinstance(minutes, (int, float)) and ev.last_step < int(_f(ev, "train.steps", 0))
    cause = (
        f"each generator step costs {' and '.join(cost)}; at {ev.last_step} steps the run stopped "
        + (f"at its time limit (train.max_minutes={_v(minutes)})" if stopped else f"at train.steps={ev.value('train.steps')}")
        + " long before the quality is usable."
    )
    if stopped:
        return cause, f"train.max_minutes={_v(float(minutes) * 10)}"
    return cause, f"train.steps={ev.last_step * 10}"


def healthy(ev: RunEvidence, seen: Seen) -> tuple[str, str]:
    return "", ""

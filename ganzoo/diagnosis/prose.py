"""The sentences of ``ganzoo doctor``: each finding's evidence, said from its numbers.

One function per entry of :data:`ganzoo.diagnosis.findings.FINDINGS`, each ``numbers -> sentence``.
The detectors compute the numbers (:class:`~ganzoo.diagnosis.evidence.Seen`); nothing here reads a
run or computes a statistic, only which clauses the numbers call for and how each number is
written (:func:`~ganzoo.diagnosis.evidence.fmt`: three significant digits).
"""

from __future__ import annotations

from typing import Any

from ganzoo.diagnosis.evidence import CLASS_ACC, DIVERSITY, FD_RATIO, fmt
from ganzoo.diagnosis.thresholds import RIGHT, SATURATED, VANISHED, WARMUP
from ganzoo.evaluation.metrics import QUALITY

Numbers = dict[str, Any]
ACC, DIV, FD = CLASS_ACC.key, DIVERSITY.key, FD_RATIO.key  # the quality figures' names, from QUALITY


def numerical(n: Numbers) -> str:
    parts = []
    if "retries" in n:
        steps, total, shown = n["retried_steps"], n["retries"], n["retried_steps"][:8]
        where = ", ".join(str(s) for s in shown) + (", ..." if len(steps) > 8 else "")
        parts.append(
            f"{total} NaN/Inf retr{'y' if total == 1 else 'ies'} on {len(steps)} of {n['steps']} steps "
            f"({len(steps) / max(n['steps'], 1):.1%}), at step{'s' if len(steps) > 1 else ''} {where}"
        )
    for key, who in (("grad_critic", "critic"), ("grad_generator", "generator")):
        if f"{key}_growth" in n:
            parts.append(
                f"the {who}'s gradient norm grew from {fmt(n[f'{key}_early'])} (median of the first 5 diagnosed steps) to "
                f"{fmt(n[f'{key}_now'])} by step {n[f'{key}_at_step']} and {fmt(n[f'{key}_peak'])} at most ({n[f'{key}_growth']:.0f}x)"
            )
    return "; ".join(parts) + "."


def no_signal(n: Numbers) -> str:
    text = (
        f"from step {n['since']} to {n['last_step']} ({n['diagnosed_steps']} diagnosed steps) the critic's scores varied by at most "
        f"{fmt(n['score_spread'])} within a batch, and real and generated images scored the same "
        f"({fmt(n['real_score'])} vs {fmt(n['fake_score'])}; |W| at most {fmt(n['abs_w'])})"
    )
    if "grad_generator" in n:
        text += f"; the generator's gradient norm was {fmt(n['grad_generator'])} (median)"
    if "clipped_share" in n:
        text += f"; {n['clipped_share']:.0%} of the critic's weights sat at the clip limit"
    return text + "."


def penalty_dominates(n: Numbers) -> str:
    return (
        f"from step {n['since']} on the penalty was {n['penalty_share']:.0%} of the critic's loss (median of {n['diagnosed_steps']} "
        "diagnosed "
        f"steps after the first {WARMUP}, a penalty's warm-up: penalty {fmt(n['penalty'])}, W {fmt(n['w'])})."
    )


def critic_overpowers(n: Numbers) -> str:
    drop, fade = n["critic_grad_drop"], n["generator_grad_vs_peak"]
    reading = (
        f"called at least {RIGHT:.0%} of real and generated images right on {n['right_share']:.0%} of the "
        f"diagnosed steps (median {n['critic_acc']:.1%})"
        if "critic_acc" in n
        else f"scored real images above generated ones by W = {fmt(n['w'])}, {fmt(n['w_over_spread'])} times their spread"
    )
    text = f"from step {n['since']} to {n['last_step']} the critic {reading}; "
    text += (
        f"its own gradient norm fell {drop:.0f}x (from {fmt(n['critic_grad_early'])} to {fmt(n['critic_grad_late'])}): it has nothing "
        "left to learn from the generated images"
        if drop >= SATURATED
        else ""
    )
    text += ("; " if drop >= SATURATED and fade <= VANISHED else "") + (
        f"the generator's gradient norm fell to {fade:.0%} of its peak" if fade <= VANISHED else ""
    )
    return text + "."


def generator_overpowers(n: Numbers) -> str:
    if "wrong_share" in n:
        return (
            f"from step {n['since']} to {n['last_step']} the critic scored generated images above real ones on "
            f"{n['wrong_share']:.0%} of the steps (W {fmt(n['w'])}, median"
            + (f"; it called {n['critic_acc']:.0%} of the images right" if "critic_acc" in n else "")
            + ")."
        )
    return (
        f"from step {n['since']} to {n['last_step']} W swung between {fmt(n['w_low'])} and {fmt(n['w_high'])} (medians of 5 steps; "
        f"their spread is {n['w_spread_share']:.0%} of their mean) while the Fréchet distance went from "
        f"{fmt(n[f'{FD}_before'])}x the floor at step {n[f'{FD}_before_step']} to {fmt(n[FD])}x at step {n[f'{FD}_step']}."
    )


def critic_overfits(n: Numbers) -> str:
    held = f"the {n['heldout_images']} held-out real images" if "heldout_images" in n else "the held-out real images"
    trained = f" ({n['train_images']} images)" if "train_images" in n else ""
    return (
        f"from step {n['since']} the critic scored {held} below its training images{trained}: over steps {n['late_from_step']}-"
        f"{n['last_step']} by {fmt(n['gap_late'])} of the distance from training to generated images (median of the probes; "
        f"{fmt(n['gap_early'])} up to step {n['early_to_step']}); mean scores: training {fmt(n['real_score_train'])}, held-out "
        f"{fmt(n['real_score_heldout'])}, generated {fmt(n['fake_score_probe'])} ({n['probes']} probes)."
    )


def mode_collapse(n: Numbers) -> str:
    parts = []
    if DIV in n:
        parts.append(
            f"{DIVERSITY.label} {fmt(n[DIV])} at step {n[f'{DIV}_step']}"
            + (f", down from {fmt(n[f'{DIV}_peak'])} at step {n[f'{DIV}_peak_step']}" if f"{DIV}_peak" in n else "")
            + f" (1 is the real data's; below {n['collapse_below']} is collapse)"
        )
    if "grid_columns" in n:
        parts.append(
            f"the images within a row of the sample grid (one per noise vector) differ by {fmt(n['grid_columns'])} (mean pixel standard "
            f"deviation) at step {n['grid_step']}, against {fmt(n['grid_columns_best'])} at step {n['grid_best_step']}: the generator "
            "ignores more and more of its noise"
        )
    return "; ".join(parts) + "."


def conditioning_ignored(n: Numbers) -> str:
    parts = []
    if ACC in n:
        parts.append(
            f"{CLASS_ACC.label} {n[ACC]:.3f} at step {n['eval_step']}, chance being {n['chance']:.3f}, while diversity is "
            f"{fmt(n[DIV])} and the Fréchet distance {fmt(n[FD])}x the floor: the images are varied and plausible, "
            "but not of the class asked for"
        )
    if "grid_rows" in n:
        parts.append(
            f"in the sample grid of step {n['grid_step']} the rows (one per class, same noise) differ by {fmt(n['grid_rows'])} (mean pixel "
            f"standard deviation) against {fmt(n['grid_columns'])} within a row: the label barely changes the image"
        )
    return "; ".join(parts) + "."


def out_of_time(n: Numbers) -> str:
    return (
        f"train.max_minutes={fmt(n['max_minutes'])} stopped the run after {n['steps']} of its {n['steps_planned']} planned generator steps "
        f"({n['done_share']:.0%}) at {fmt(n['steps_per_second'])} steps/s ({fmt(n['seconds_per_step'])} s each); at that speed the plan "
        f"needs {fmt(n['minutes_needed'])} min, {fmt(n['budget_short_by'])}x the cap."
    )


def too_slow(n: Numbers) -> str:
    seconds, steps = n["seconds_per_step"], n["steps"]
    text = f"the run got {steps} generator steps" + (f" at {fmt(seconds)} s each ({fmt(seconds * steps / 60)} min)" if seconds else "")
    if "w_from" in n:
        a, b = n["w_from"], n["w_to"]
        text += f"; over the last third (steps {n['last_third_from_step']}-{n['last_third_to_step']}) W went from {fmt(a)} to {fmt(b)}" + (
            " (flat)" if abs(b - a) <= 0.2 * max(abs(a), abs(b), 1e-12) else ""
        )
    text += "; at the end " + ", ".join(
        (
            [
                f"the Fréchet distance is {fmt(n[FD])}x the floor"
                + (f" ({fmt(n[f'{FD}_first'])}x at step {n[f'{FD}_first_step']})" if f"{FD}_first" in n else "")
            ]
            if FD in n
            else []
        )
        + ([f"{CLASS_ACC.label} {n[ACC]:.3f} (chance {n['chance']:.3f})"] if ACC in n else [])
    )
    return text + "."


def healthy(n: Numbers) -> str:
    trends = []
    for q in QUALITY:
        if q.higher_is_better is None or q.key not in n:
            continue
        b, at = n[q.key], n[f"{q.key}_step"]
        if f"{q.key}_from" in n:
            a = n[f"{q.key}_from"]
            word = " (better)" if (b > a) == q.higher_is_better and b != a else " (worse)" if b != a else " (flat)"
            trends.append(f"{q.label} {fmt(b)} at step {at}, from {fmt(a)} at step {n[f'{q.key}_from_step']}{word}")
        else:
            trends.append(f"{q.label} {fmt(b)} at step {at}")
    text = f"{n['steps']} generator steps; W {fmt(n['w'])} at the end" if "w" in n else f"{n['steps']} generator steps"
    text += ("; " + "; ".join(trends)) if trends else "; no quality scores (ganzoo eval RUN, or train.eval_every=K, adds them)"
    return text + "."

"""``ganzoo doctor``: run every check of :data:`~ganzoo.diagnosis.findings.FINDINGS` on a run's
evidence and name what failed, each finding with its evidence, likely cause and a change to try.

:func:`examine` reads a run folder; :func:`diagnose` works on any :class:`RunEvidence` (the
monitor passes the step lines of a run still training); :func:`main_finding` is the one line
``ganzoo compare`` shows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.diagnosis.evidence import RunEvidence
from ganzoo.diagnosis.findings import FINDINGS, FORM_TITLES


@dataclass(frozen=True)
class Finding:
    key: str  # the entry of FINDINGS
    title: str
    since: int | None  # the generator step it first shows at, when it has one
    evidence: str  # the evidence as a sentence: the numbers and the steps where they occur
    cause: str  # the likely cause in this configuration
    change: str  # what to try, as key=value overrides
    numbers: dict[str, Any] = field(default_factory=dict)  # the evidence as named numbers (what the sentence says)

    def line(self) -> str:
        """One line: the title, and since when."""
        return self.title + (f" since step {self.since}" if self.since is not None else "")


@dataclass
class Report:
    run: str
    findings: list[Finding]
    notes: list[str]  # what could not be checked, and why

    @property
    def main(self) -> Finding:
        return self.findings[0]

    def to_json(self) -> dict[str, Any]:
        """The report for a program: each finding's sentence (``evidence``) and its numbers (``numbers``;
        a number that is not finite, such as the median of no values, is null)."""
        return {"run": self.run, "findings": [{**asdict(f), "numbers": _finite(f.numbers)} for f in self.findings], "notes": self.notes}


def diagnose(ev: RunEvidence, online: bool = False) -> list[Finding]:
    """The findings, in the table's order of importance, without those another finding explains.
    ``online``: only the checks that can run during training, and never "healthy"."""
    seen = {}
    for check in FINDINGS:
        if check.key == "healthy" or (online and not check.online):
            continue
        found = check.detect(ev)
        if found is not None:
            seen[check.key] = (check, found)
    hidden = {h for check, _ in seen.values() for h in check.hides}
    out = []
    for key, (check, found) in seen.items():
        if key in hidden:
            continue
        cause, change = check.advise(ev, found)
        out.append(
            Finding(key, FORM_TITLES.get(found.form, check.title), found.since, check.render(found.numbers), cause, change, found.numbers)
        )
    if not out and not online:
        check = FINDINGS[-1]
        found = check.detect(ev)
        if found is not None:
            out.append(Finding(check.key, check.title, None, check.render(found.numbers), "", "", found.numbers))
    return out


def _finite(numbers: dict[str, Any]) -> dict[str, Any]:
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in numbers.items()}


def notes(ev: RunEvidence) -> list[str]:
    """What the doctor could not check in this run, and how to give it the evidence."""
    out = []
    if ev.bad_lines:
        shown = ", ".join(map(str, ev.bad_lines[:10])) + (f" and {len(ev.bad_lines) - 10} more" if len(ev.bad_lines) > 10 else "")
        out.append(
            f"metrics.jsonl has {len(ev.bad_lines)} line(s) that are not step records (damaged or cut short), left out: "
            f"line {shown}. The findings come from the {len(ev.steps)} valid step line(s)."
        )
    if not ev.steps:
        out.append("metrics.jsonl has no step lines yet: nothing to diagnose.")
    elif not ev.has("real_score"):
        out.append(
            "this run logged no critic scores or gradient norms (train.diag_every=0, or a ganzoo before it): only the "
            "losses, W, quality scores and sample grids could be read; train.diag_every=1 logs the rest."
        )
    if not ev.evals:
        out.append(
            "no quality scores: mode collapse, ignored conditioning and 'too slow' (beyond a run its time limit stopped far short "
            "of its steps) need them; run ganzoo eval RUN "
            "(or train with train.eval_every=K)."
        )
    return out


def examine(run_dir: Path) -> Report:
    """The doctor's report on a run folder."""
    ev = RunEvidence.read(run_dir)
    found = diagnose(ev)
    return Report(str(run_dir), found, notes(ev))


def main_finding(run_dir: Path) -> str:
    """The run's most important finding as one short line ("-" when there is nothing to read)."""
    ev = RunEvidence.read(run_dir)
    found = diagnose(ev) if ev.steps else []
    return found[0].line() if found else "-"

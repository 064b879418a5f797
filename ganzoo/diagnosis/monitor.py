"""The doctor during training: the run's recorder hands :meth:`Monitor.see` every line it writes to
``metrics.jsonl`` (step lines and quality scores), and the monitor runs the online checks of
:data:`~ganzoo.diagnosis.findings.FINDINGS` on what it has seen so far, so it reads what ``ganzoo
doctor`` would read of the run at that moment (less the sample grids). It returns a one-line
warning the first time a finding appears, e.g. "the critic gives no signal since step 40"; the
recorder shows it through the trainer's reporter and training goes on.

The checks run every ``every`` step lines, then every 5% of the steps taken (so that they stay a
small part of a long run), and at once after each quality score (scores are rare, and mode
collapse reads them). The monitor keeps the first ``HEAD`` step lines (the early levels some
checks compare with), the last ``TAIL``, and every score.
"""

from __future__ import annotations

from typing import Any

from ganzoo.diagnosis.doctor import diagnose
from ganzoo.diagnosis.evidence import RunEvidence

HEAD, TAIL = 20, 1000


class Monitor:
    def __init__(self, config: dict[str, Any], every: int = 10):
        self.config, self.every = config, every
        self.head: list[dict[str, Any]] = []
        self.tail: list[dict[str, Any]] = []
        self.evals: list[tuple[int, dict[str, Any]]] = []  # (step, scores), as RunEvidence keeps them
        self.seen = 0
        self.due = every  # the step count at which the checks run next
        self.warned: set[str] = set()

    def see(self, line: dict[str, Any]) -> list[str]:
        """Take one line of ``metrics.jsonl`` (a step line, or ``{"step": N, "eval": {...}}``); the
        warnings for findings that appear for the first time (often none)."""
        if isinstance(line.get("eval"), dict):
            self.evals.append((line["step"], line["eval"]))
            return self._check()
        (self.head if len(self.head) < HEAD else self.tail).append(line)
        if len(self.tail) > TAIL:
            del self.tail[: len(self.tail) - TAIL]
        self.seen += 1
        if self.seen < self.due:
            return []
        self.due = self.seen + max(self.every, self.seen // 20)
        return self._check()

    def _check(self) -> list[str]:
        found = [
            f for f in diagnose(RunEvidence.live(self.config, self.head + self.tail, self.evals), online=True) if f.key not in self.warned
        ]
        self.warned.update(f.key for f in found)
        return [f.line() for f in found]

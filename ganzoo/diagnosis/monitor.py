"""The doctor during training: the loop hands every step line to :meth:`Monitor.see`, which runs
the online checks of :data:`~ganzoo.diagnosis.findings.FINDINGS` every ``every`` steps on the lines
so far (every ``every`` steps, then every 5% of the steps taken, so that the checks stay a small
part of a long run) and returns a one-line warning the first time a finding appears, e.g. "the critic gives no
signal since step 40". The loop shows it through its reporter and goes on training.

It keeps the first ``HEAD`` lines (the early levels some checks compare with) and the last ``TAIL``.
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
        self.seen = 0
        self.due = every  # the step count at which the checks run next
        self.warned: set[str] = set()

    def see(self, record: dict[str, Any]) -> list[str]:
        """Take one step line; the warnings for findings that appear for the first time (often none)."""
        (self.head if len(self.head) < HEAD else self.tail).append(record)
        if len(self.tail) > TAIL:
            del self.tail[: len(self.tail) - TAIL]
        self.seen += 1
        if self.seen < self.due:
            return []
        self.due = self.seen + max(self.every, self.seen // 20)
        found = [f for f in diagnose(RunEvidence.live(self.config, self.head + self.tail), online=True) if f.key not in self.warned]
        self.warned.update(f.key for f in found)
        return [f.line() for f in found]

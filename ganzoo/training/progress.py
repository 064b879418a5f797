"""How the training loop reports: a small interface, so the engine draws nothing itself.

The loop calls :meth:`Reporter.start` once, :meth:`Reporter.step` after each generator step and
:meth:`Reporter.note` for anything a person should read (a retried step, a resumed run); the CLI
supplies a reporter that draws a progress bar (:mod:`ganzoo.cli.console`). :class:`PlainReporter`,
the default, writes notes as plain lines to stderr and draws no bar.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol


class Reporter(Protocol):
    def start(self, total: int, done: int) -> None:
        """Training of ``total`` generator steps begins, ``done`` of them already done (a resume)."""

    def step(self, step: int, rate: float, record: dict[str, Any]) -> None:
        """Generator step ``step`` is done at ``rate`` steps/s; ``record`` is its metrics line."""

    def note(self, text: str, level: str = "info") -> None:
        """A line for a person: ``level`` is "info" or "warning"."""

    def close(self) -> None:
        """Training ended (normally or not)."""


class PlainReporter:
    """Notes as plain lines on stderr, no progress bar; ``quiet=True`` drops the info notes too."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet

    def start(self, total: int, done: int) -> None:
        return None

    def step(self, step: int, rate: float, record: dict[str, Any]) -> None:
        return None

    def note(self, text: str, level: str = "info") -> None:
        if level == "warning" or not self.quiet:
            print(("warning: " if level == "warning" else "") + text, file=sys.stderr, flush=True)

    def close(self) -> None:
        return None

"""How loading reports its progress: a callback ``progress(what, done, total)``, called as work
finishes (``what`` is e.g. "decoding images"), and :class:`LineProgress`, the default, a plain
line on stderr with the rate and the time left.

Data loads before a trainer or a reporter exists, so the engine sets the callback for the load
(:func:`reporting`, from ``ganzoo.registry.build.load_data``) and loaders ask :func:`current` for it:
a third-party dataset that uses ``ganzoo.load_image_folder`` reports the same way.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, TextIO

Progress = Callable[[str, int, int], None]

_CURRENT: ContextVar[Progress | None] = ContextVar("ganzoo_data_progress", default=None)


def quiet(what: str, done: int, total: int) -> None:
    return None


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


class LineProgress:
    """``decoding images: 12,000/50,000 (24%), 4,100/s, 0:03 elapsed, ETA 0:09`` on ``stream``.

    Nothing is shown for work that ends within ``after`` seconds. On a terminal the line is redrawn in
    place; elsewhere (a log file) a line is written at most every ``every`` seconds, and once at the end.
    """

    def __init__(self, stream: TextIO | None = None, after: float = 1.0, every: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.stream, self.after, self.every, self.clock = stream, after, every, clock
        self.started: dict[str, float] = {}
        self.shown = -1.0  # when the line was last written (-1: never for this task)

    def line(self, what: str, done: int, total: int, now: float) -> str:
        elapsed = max(now - self.started[what], 1e-9)
        rate = done / elapsed
        eta = f"ETA {_clock((total - done) / rate)}" if 0 < done < total else ("done" if done >= total else "ETA -")
        pct = f" ({100 * done / total:.0f}%)" if total else ""
        return f"{what}: {done:,}/{total:,}{pct}, {rate:,.0f}/s, {_clock(elapsed)} elapsed, {eta}"

    def __call__(self, what: str, done: int, total: int) -> None:
        now = self.clock()
        if what not in self.started or done == 0:
            self.started[what], self.shown = now, -1.0
            return
        if now - self.started[what] < self.after:
            return
        stream = self.stream or sys.stderr
        tty = getattr(stream, "isatty", lambda: False)()
        finished = done >= total
        if tty and (finished or now - self.shown >= 0.1):
            stream.write("\r" + self.line(what, done, total, now) + ("\n" if finished else "\x1b[K"))
        elif not tty and (finished or self.shown < 0 or now - self.shown >= self.every):
            stream.write(self.line(what, done, total, now) + "\n")
        else:
            return
        stream.flush()
        self.shown = now


def current() -> Progress:
    """The callback set by :func:`reporting`; otherwise a :class:`LineProgress` on stderr (under
    torchrun only rank 0 shows it)."""
    found = _CURRENT.get()
    if found is not None:
        return found
    return LineProgress() if os.environ.get("RANK", "0") == "0" else quiet


@contextmanager
def reporting(progress: Progress | None) -> Iterator[None]:
    """Loaders called inside report to ``progress`` (:func:`quiet` for none)."""
    token = _CURRENT.set(progress or quiet)
    try:
        yield
    finally:
        _CURRENT.reset(token)

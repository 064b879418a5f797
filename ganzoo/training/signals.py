"""Stopping on request: Ctrl-C (SIGINT) and SIGTERM, which cluster schedulers (SLURM, Kubernetes)
send before they kill a job.

The command line calls :func:`install`. While a trainer's loop runs (:func:`training`), the first
signal only sets a flag; the loop finishes the step it is in, writes a checkpoint and stops with
:class:`ganzoo.errors.Interrupted`, which says how to resume. A second signal, or a signal while
nothing is training (starting up, loading data, evaluating), interrupts at once with
:class:`KeyboardInterrupt`, whose argument names the signal.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}  # 128 + the signal's number, as shells report it

_requested: str | None = None
_training = False


def _handler(signum: int, frame: object) -> None:
    global _requested
    name = signal.Signals(signum).name
    if _training and _requested is None:
        _requested = name
        return
    raise KeyboardInterrupt(name)


def install() -> None:
    """Handle SIGINT and SIGTERM as described above (main thread only, as Python requires)."""
    for sig in SIGNALS:
        signal.signal(sig, _handler)


def requested() -> str | None:
    """The signal ("SIGINT", "SIGTERM") that asked training to stop, or None."""
    return _requested


@contextmanager
def training() -> Iterator[None]:
    """Mark the training loop: inside it, a first signal asks for a stop at the next step boundary."""
    global _training, _requested
    _training, _requested = True, None
    try:
        yield
    finally:
        _training, _requested = False, None

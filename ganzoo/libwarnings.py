"""Python warnings on the command line: ganzoo's own become ``warning:`` lines; those of the libraries
it drives (PIL, torchvision, torch) are not shown raw.

A library warning a user cannot act on is either rewritten as one of ganzoo's notes, shown once per
run (:data:`NOTES`: what happened, in ganzoo's words), or silenced on purpose: it speaks of the
library's internals (deprecations, a palette PIL would rather see as RGBA, which the decoder now
converts itself, a size check the decoder already made from the header). Worker processes that
decode images ignore every warning (:func:`ganzoo.data.parallel.worker_init`): what matters in an
image file is an error or a note of the main process.
"""

from __future__ import annotations

import re
import sys
import warnings
from typing import Callable

LIBRARIES = frozenset({"PIL", "torch", "torchvision"})

# (pattern of the library's message, ganzoo's note): shown once per process.
NOTES = (
    (
        re.compile(r"exif", re.IGNORECASE),
        "data: some images carry damaged EXIF metadata (camera data, not pixels); it was ignored and their pixels read as they are",
    ),
    (
        re.compile(r"truncated|premature end", re.IGNORECASE),
        "data: some image files end early; PIL read what was there",
    ),
)


def _caller_module() -> str:
    """The module that called ``warnings.warn``: the first frame outside this module and ``warnings``."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__") in (__name__, "warnings"):
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""


def from_library(category: type, filename: str, caller: str) -> bool:
    """True when a warning comes from PIL, torchvision or torch: raised there, pointing there, or of a
    category they define."""
    tops = {caller.partition(".")[0], getattr(category, "__module__", "").partition(".")[0]}
    parts = set(str(filename).replace("\\", "/").split("/"))
    return bool(tops & LIBRARIES or parts & LIBRARIES)


class Shown:
    """``warnings.showwarning`` for a command: ganzoo's warnings to ``warn(text)``, library ones to
    ``note(text)`` once each (:data:`NOTES`) or nowhere."""

    def __init__(self, warn: Callable[[str], None], note: Callable[[str], None]):
        self.warn, self.note = warn, note
        self.said: set[str] = set()

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:
        text = str(message)
        if not from_library(category, filename, _caller_module()):
            self.warn(text)
            return
        for pattern, note in NOTES:
            if pattern.search(text):
                if note not in self.said:
                    self.said.add(note)
                    self.note(note)
                return


def worker_quiet() -> None:
    """In a worker process: no warning is printed (they would interleave with the main process's lines)."""
    warnings.simplefilter("ignore")

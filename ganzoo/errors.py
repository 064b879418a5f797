"""User-facing errors: one readable paragraph, a non-zero exit, no traceback."""

from __future__ import annotations

import difflib
from typing import Iterable


class GanzooError(Exception):
    """A mistake the user can fix. The CLI prints the message and exits with ``exit_code``."""

    exit_code = 2


class ConfigError(GanzooError):
    """A bad key, name or value in the run configuration."""


class PluginError(GanzooError):
    """A plugin that could not be loaded or registered something invalid."""


class DataError(GanzooError):
    """A dataset that is missing or malformed."""


class CheckpointError(GanzooError):
    """A checkpoint that is missing, damaged or does not match the configuration."""


class StorageError(GanzooError):
    """The file system refused a write (disk full, read-only, no permission); what was on disk before is intact."""

    exit_code = 4


class Unreachable(GanzooError):
    """A process or server the command needs (a torchrun peer, a study's database) could not be reached in time."""

    exit_code = 4


class Interrupted(GanzooError):
    """Training was asked to stop (Ctrl-C or SIGTERM) and stopped at a step boundary."""

    exit_code = 130


def os_reason(exc: BaseException) -> str:
    """A short reason for an OSError (or an error that wraps one): 'no space left on device'..."""
    import errno

    code = getattr(exc, "errno", None)
    reasons = {
        errno.ENOSPC: "no space left on device",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EISDIR: "it is a folder",
        errno.EDQUOT: "the disk quota is exceeded",
    }
    if code in reasons:
        return reasons[code]
    text = str(exc)
    if "No space left" in text:
        return "no space left on device"
    return getattr(exc, "strerror", None) or text or type(exc).__name__


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" Did you mean 'x'?"`` for the closest choice, or ``""`` when nothing is close."""
    choices = [str(c) for c in choices]
    lowered = {c.lower(): c for c in choices}
    if str(word).lower() in lowered:  # the same name in other case: DCGAN -> dcgan
        return f" Did you mean '{lowered[str(word).lower()]}'?"
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    close = close or [lowered[m] for m in difflib.get_close_matches(str(word).lower(), list(lowered), n=1, cutoff=0.6)]
    return f" Did you mean '{close[0]}'?" if close else ""


def unknown(what: str, word: str, choices: Iterable[str], where: str = "") -> ConfigError:
    """The standard error for an unknown name: what was wrong, did-you-mean, the valid choices."""
    choices = sorted(choices)
    listed = ", ".join(choices) if choices else "(none registered)"
    where = f" in {where}" if where else ""
    return ConfigError(f"Unknown {what} '{word}'{where}.{did_you_mean(word, choices)} Valid choices: {listed}.")

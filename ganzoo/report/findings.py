"""``ganzoo doctor``'s findings in a report: the hook point between the two.

:func:`findings` takes a run folder and returns what the doctor found there as (title, text)
pairs, each text holding the evidence, the likely cause and the change to try, and what the doctor
could not check; the report lists them under each run. Without ``ganzoo.diagnosis`` (a ganzoo
before the doctor) it returns nothing and :func:`available` is False, so the page leaves the
section out.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def available() -> bool:
    """True when this ganzoo has a doctor."""
    return importlib.util.find_spec("ganzoo.diagnosis") is not None


def findings(run_dir: Path) -> list[tuple[str, str]]:
    """``ganzoo doctor``'s findings for ``run_dir`` as (title, text); [] without a doctor."""
    if not available():
        return []
    from ganzoo.diagnosis.doctor import examine

    report = examine(run_dir)
    out = []
    for f in report.findings:
        text = " ".join(p for p in (f.evidence, f"Likely cause: {f.cause}" if f.cause else "", f"Try: {f.change}" if f.change else "") if p)
        out.append((f.line(), text))
    return out + [("not checked", note) for note in report.notes]

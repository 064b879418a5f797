"""How component names are ordered for people: natural sort, so 'r2' comes before 'r10'."""

from __future__ import annotations

import re
from typing import Any


def natural_key(text: str) -> list[Any]:
    """Sort key that orders 'r2' before 'r10' and ignores case."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", text)]

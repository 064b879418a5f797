"""FLOPs of a call (``torch.utils.flop_counter``) and the machine's measured matmul peak.

The counter counts matrix multiplications and convolutions, forward and backward (double backward
included), which is where the FLOPs of these networks are; elementwise ops are not counted.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from ganzoo.bench.timing import alternate


class _GlobalOnly:
    """Stands in for FlopCounterMode's per-module tracker, which counts everything under 'Global' too.

    The tracker's module backward hooks make ``torch.autograd.grad`` with respect to a leaf input
    fail ("A leaf node was passed to _will_engine_execute_node ..."), which is exactly what a
    gradient penalty does; the total needs no per-module attribution.
    """

    parents = frozenset({"Global"})

    def __enter__(self) -> "_GlobalOnly":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def count_flops(fn: Callable[[], Any]) -> int:
    """Floating-point operations (multiply and add counted separately) of one call of ``fn``."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()  # type: ignore[assignment]
    with counter:
        fn()
    return int(counter.get_total_flops())


def matmul_peak(device: torch.device, size: int = 1024, rounds: int = 5, dtype: torch.dtype = torch.float32) -> dict[str, Any]:
    """GFLOP/s of a square ``size`` matmul: the best of ``rounds``, a practical peak for this machine."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    stats = alternate({"mm": lambda: torch.mm(a, b)}, device, warmup=1, rounds=rounds)["mm"]
    flops = 2 * size**3
    return {
        "gflops": flops / min(stats.times) / 1e9,
        "median_gflops": flops / stats.median / 1e9,
        "size": size,
        "dtype": str(dtype).removeprefix("torch."),
    }

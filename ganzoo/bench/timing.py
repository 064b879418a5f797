"""Timing, memory and machine facts for ``ganzoo bench`` and the ``benchmarks/`` suites.

Good practice: warm-up calls first, then several rounds; the functions being compared run in
alternation within each round, so a machine that gets busier or quieter affects all of them alike;
CUDA is synchronised inside the timed region; the median and the spread (interquartile range) are
reported together with every time. Next to wall-clock time each call's process CPU time (all
threads) is kept: on a machine shared with other work it is the steadier measure of the work done.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class Stats:
    """Seconds per call over the timed rounds: wall-clock ``times`` and process CPU ``cpu_times``."""

    times: tuple[float, ...]
    cpu_times: tuple[float, ...] = ()

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def iqr(self) -> float:
        """Interquartile range (0 with fewer than two rounds)."""
        if len(self.times) < 2:
            return 0.0
        q = statistics.quantiles(self.times, n=4, method="inclusive")
        return q[2] - q[0]

    @property
    def spread(self) -> float:
        """The interquartile range as a fraction of the median."""
        return self.iqr / self.median if self.median > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_s": self.median,
            "min_s": min(self.times),
            "iqr_s": self.iqr,
            "spread": self.spread,
            "times_s": list(self.times),
            "cpu_median_s": statistics.median(self.cpu_times) if self.cpu_times else None,
            "cpu_times_s": list(self.cpu_times),
        }


def timed(fn: Callable[[], Any], device: torch.device) -> tuple[float, float]:
    """Wall-clock and process CPU seconds of one call of ``fn``; the device is synchronised before the clocks start and stop."""
    sync(device)
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    sync(device)
    return time.perf_counter() - start, time.process_time() - cpu


def alternate(fns: dict[str, Callable[[], Any]], device: torch.device, warmup: int, rounds: int) -> dict[str, Stats]:
    """Time each function ``rounds`` times, one call of each per round, after ``warmup`` untimed rounds."""
    if rounds < 1 or warmup < 0:
        raise ValueError("rounds must be >= 1 and warmup >= 0")
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync(device)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(timed(fn, device))
    return {name: Stats(tuple(w for w, _ in t), tuple(c for _, c in t)) for name, t in times.items()}


class PeakMemory:
    """Peak memory while a block runs: max allocated on a GPU, peak resident set size (RSS) on a CPU.

    On Linux the RSS peak is reset through ``/proc/self/clear_refs``; where that is not possible
    the peak is the whole process's so far (``reset_ok`` is False).
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.reset_ok = False

    def reset(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.reset_ok = True
            return
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.reset_ok = True
        except OSError:
            self.reset_ok = False

    def peak_bytes(self) -> int:
        if self.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device))
        try:
            match = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
            if match:
                return int(match.group(1)) * 1024
        except OSError:
            pass
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # kB on Linux

    @property
    def kind(self) -> str:
        return "max allocated (GPU)" if self.device.type == "cuda" else "peak RSS (process)"


def machine(device: torch.device) -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or ""
    try:
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1).strip() if found else cpu
    except OSError:
        pass
    info: dict[str, Any] = {
        "device": device.type,
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info

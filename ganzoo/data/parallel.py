"""Work on many files at once, in order, with progress: :func:`chunks` calls ``fn(start, stop)``
for consecutive slices of ``range(n)`` in worker processes (a torch DataLoader, whose workers hand
tensors back through shared memory) or threads, and yields the results in order.

Processes are the default: decoding a small image is mostly Python work around PIL's C code, which
holds the GIL, so threads gain little (``benchmarks/data_scale.py`` measures both). A
:class:`ganzoo.GanzooError` raised by ``fn`` in a worker reaches the caller as the same one-paragraph
error, not as a worker traceback. Workers ignore Ctrl-C: the main process stops them.
"""

from __future__ import annotations

import math
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import torch

from ganzoo.data.progress import Progress, quiet
from ganzoo.errors import GanzooError

KINDS = ("processes", "threads")


def cpu_workers() -> int:
    """The default number of worker processes: the CPU cores this process may use, at most 8."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(8, cpus))


def worker_init(_: int = 0) -> None:
    """In each worker process: Ctrl-C is the main process's to handle; PIL's own size limit off
    (the decoder checks the limit from each header); no warnings printed (:mod:`ganzoo.libwarnings`)."""
    from PIL import Image

    from ganzoo.libwarnings import worker_quiet

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    Image.MAX_IMAGE_PIXELS = None
    worker_quiet()


class Guarded(torch.utils.data.Dataset):
    """A dataset whose item ``k`` is ``(fn(k), None)``, or ``(None, (error class, message))`` when
    ``fn`` raises a GanzooError, so that the error crosses from a worker process intact."""

    def __init__(self, fn: Callable[[Any], Any], length: int = 0):
        self.fn, self.length = fn, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, k: Any) -> tuple[Any, Any]:
        try:
            return self.fn(k), None
        except GanzooError as exc:
            return None, (type(exc), str(exc))


def unwrap(result: tuple[Any, Any]) -> Any:
    value, error = result
    if error is not None:
        raise error[0](error[1])
    return value


def drain(loader: Any) -> Iterator[Any]:
    """The unwrapped items of a DataLoader over a :class:`Guarded` dataset. Its worker processes are
    stopped as soon as this ends, by an error or ``close()``, not whenever the error's traceback is
    let go (which left them to time out, 5 s)."""
    it = iter(loader)
    try:
        for item in it:
            yield unwrap(item)
    finally:
        getattr(it, "_shutdown_workers", lambda: None)()


class _Slices:
    def __init__(self, n: int, chunk: int):
        self.n, self.chunk = n, chunk

    def __len__(self) -> int:
        return math.ceil(self.n / self.chunk)

    def __getitem__(self, k: int) -> tuple[int, int]:
        return k * self.chunk, min(self.n, (k + 1) * self.chunk)


def chunks(
    fn: Callable[[int, int], Any],
    n: int,
    *,
    workers: int,
    chunk: int = 64,
    what: str = "working",
    progress: Progress = quiet,
    kind: str = "processes",
) -> Iterator[tuple[int, Any]]:
    """Yield ``(start, fn(start, stop))`` for the slices of ``range(n)``, in order. ``workers=0`` runs
    ``fn`` here; otherwise ``workers`` processes or threads (``kind``). ``progress(what, done, n)``
    is told each finished slice."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    slices = _Slices(n, chunk)
    work = Guarded(_Call(fn, slices), len(slices))
    progress(what, 0, n)
    if workers == 0:
        results: Iterator[Any] = (unwrap(work[k]) for k in range(len(slices)))
    elif kind == "threads":
        results = _threads(work, workers)
    else:
        loader = torch.utils.data.DataLoader(
            work,
            batch_size=None,
            num_workers=min(workers, len(slices)),
            worker_init_fn=worker_init,
            prefetch_factor=4,
            generator=torch.Generator().manual_seed(0),
        )  # leaves the global RNG alone
        results = drain(loader)
    try:
        for k, value in enumerate(results):
            start, stop = slices[k]
            yield start, value
            progress(what, stop, n)
    finally:
        results.close()  # type: ignore[attr-defined]


class _Call:
    """``fn(*slices[k])``, picklable when ``fn`` is (worker processes started by spawn pickle it)."""

    def __init__(self, fn: Callable[[int, int], Any], slices: _Slices):
        self.fn, self.slices = fn, slices

    def __call__(self, k: int) -> Any:
        return self.fn(*self.slices[k])


def _threads(work: Guarded, workers: int) -> Iterator[Any]:
    pool = ThreadPoolExecutor(workers)
    try:
        for result in pool.map(work.__getitem__, range(len(work))):
            yield unwrap(result)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

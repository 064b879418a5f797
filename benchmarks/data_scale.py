"""Image folders at real sizes (issue 16): load time, the cached start, peak memory and training
throughput, ganzoo's in-memory and streaming paths beside torchvision's ImageFolder + DataLoader.

    flock /tmp/ganzoo-cpu.lock python benchmarks/data_scale.py --images 50000 --workers 2 --json data_scale.json

It writes a synthetic folder of RGB PNGs at 64x64 in 10 classes into a temporary folder (never into
the repository; removed at the end unless --keep), then measures each row in a fresh Python process
(so each peak RSS is that process's own): the first load (cache written), the cached start, the
first load with threads instead of processes and with one process, torchvision's pass over the same
files with the same number of workers, and training images/s of one model on the three data paths.
It prints a Markdown table; --json saves the numbers. Speed is measured here, never in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

MODELS = {  # the default recipe at 64x64, and the same at a quarter of the widths (a data path's cost shows more)
    "default": ["preset=default", "train.ema=0", "train.batch_size=64", "train.progress=false"],
    "small": ["preset=default", "critic.width=16", "generator.base=32", "train.ema=0", "train.batch_size=64", "train.progress=false"],
}


def _one_class(job: tuple[str, int, int, int]) -> None:
    import numpy as np
    from PIL import Image

    root, c, start, stop = job
    yy, xx = np.mgrid[0:64, 0:64]
    rng = np.random.default_rng(c)
    os.makedirs(f"{root}/c{c}", exist_ok=True)
    for i in range(start, stop):  # smooth colour waves plus noise: about 10 kB a file, like a small photo
        base = np.sin(xx / (3 + c) + i) * 60 + np.cos(yy / (4 + i % 7)) * 60 + 128
        img = np.stack([base, base[::-1], base[:, ::-1]], -1) + rng.normal(0, 12, (64, 64, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(f"{root}/c{c}/{i:06d}.png")


def make_folder(root: Path, n: int, procs: int) -> float:
    started = time.perf_counter()
    per = n // 10
    with Pool(procs) as pool:
        pool.map(_one_class, [(str(root), c, c * per, (c + 1) * per) for c in range(10)])
    return time.perf_counter() - started


def _rss_now() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- the measurements, each run in its own process ----------------------------------------------------
def child_load(root: str, workers: int, kind: str, cache: bool) -> dict:
    import torch  # noqa: F401

    import ganzoo
    from ganzoo.data import folder, parallel
    from ganzoo.data.progress import reporting, quiet

    import PIL.Image  # noqa: F401  imported before the clock starts, as torchvision's row does
    import torchvision.datasets.folder  # noqa: F401
    import torchvision.transforms.functional  # noqa: F401

    ganzoo.FolderConfig  # noqa: B018  (ganzoo.data.folder, loaded on first use)

    base = _rss_now()
    if kind != "processes":  # the benchmark's one switch: the same loader with a thread pool
        real = parallel.chunks
        folder.chunks = lambda *a, **k: real(*a, **{**k, "kind": kind})
    started = time.perf_counter()
    with reporting(quiet):
        data = ganzoo.load_image_folder(root, ganzoo.FolderConfig(workers=workers, cache=cache))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "images": len(data), "bytes": data.pixels.nbytes, "dtype": str(data.dtype),
            "rss_base": base, "rss_peak": _peak(), "cached": any(n.startswith("read the decoded images from the cache") for n in data.notes)}


def child_torchvision_load(root: str, workers: int) -> dict:
    import torch
    from torchvision import datasets, transforms

    base = _rss_now()
    started = time.perf_counter()
    ds = datasets.ImageFolder(root, transform=transforms.ToTensor())
    loader = torch.utils.data.DataLoader(ds, batch_size=256, num_workers=workers)
    n = sum(x.shape[0] for x, _ in loader)  # one pass: every image decoded, as a training epoch would
    return {"seconds": time.perf_counter() - started, "images": n, "rss_base": base, "rss_peak": _peak()}


class _TorchvisionBatches:
    """torchvision's ImageFolder + DataLoader behind the Batches interface: what a user would write."""

    def __init__(self, root: str, workers: int, batch: int, device):
        import torch
        from torchvision import datasets, transforms

        tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)])
        self.loader = torch.utils.data.DataLoader(datasets.ImageFolder(root, transform=tf), batch_size=batch, shuffle=True,
                                                  drop_last=True, num_workers=workers, persistent_workers=workers > 0)
        self.device, self.batch_size = device, batch
        self.images = torch.empty(0, device=device)
        self.it = iter(self.loader)

    def next(self):
        try:
            x, y = next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            x, y = next(self.it)
        return x.to(self.device), y.to(self.device)


def _trainer(root: str, workers: int, path: str, model: str):
    from ganzoo.registry.config import resolve
    from ganzoo.registry.host import PluginHost
    from ganzoo.training.loop import Trainer

    host = PluginHost(entry_points=[])
    extra = [] if path == "memory" else ["data.max_memory=1KB"]  # torchvision's trainer holds no ganzoo pixels either
    cfg = resolve([*MODELS[model], "data=imagefolder", f"data.root={root}", f"data.workers={workers}", "data.cache=true", *extra], host)
    trainer = Trainer(cfg, host)
    assert trainer.data.streamed == (path != "memory")
    if path == "torchvision":
        trainer.steps.batches = _TorchvisionBatches(root, workers, cfg.train.batch_size, trainer.device)
    return trainer, cfg.train.batch_size * cfg.train.n_critic


def child_train(root: str, workers: int, model: str, rounds: int, steps: int) -> dict:
    """Training images/s of one model on each data path, in one process, in alternating rounds (so a
    busy neighbour slows every path alike); the median round of each, and each round's ratio to memory."""
    import statistics

    paths = {"memory": (0, "memory"), "streaming, in the training process": (0, "streaming"),
             f"streaming, {workers} worker processes": (workers, "streaming"), f"torchvision, {workers} workers": (workers, "torchvision")}
    trainers = {name: _trainer(root, w, path, model) for name, (w, path) in paths.items()}
    for t, _ in trainers.values():
        for _ in range(3):
            t.one_step(None)  # warm-up (and the read-ahead started)
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, (t, per_step) in trainers.items():
            started = time.perf_counter()
            for _ in range(steps):
                t.one_step(None)
            rates[name].append(steps * per_step / (time.perf_counter() - started))
    return {"model": model, "rounds": rounds, "steps_per_round": steps,
            "images_per_s": {k: statistics.median(v) for k, v in rates.items()}, "per_round": rates}


def child_train_rss(root: str, workers: int, path: str, model: str, steps: int) -> dict:
    """Peak RSS of a short run on one path, alone in its process."""
    import torchvision.datasets  # noqa: F401  everything imported before the baseline is read
    import ganzoo.training.loop  # noqa: F401

    base = _rss_now()
    trainer, _ = _trainer(root, workers, path, model)
    for _ in range(steps):
        trainer.one_step(None)
    return {"rss_base": base, "rss_peak": _peak()}


def child_at_rest(n: int, batches: int) -> dict:
    """Batches.next() on the CPU, batch 64: a uint8 set (indexed, then converted) vs a float32 set."""
    import torch

    import ganzoo
    from ganzoo.imagedata import to_unit
    from ganzoo.training.batches import Batches

    g = torch.Generator().manual_seed(0)
    u8 = torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8, generator=g)
    labels = torch.arange(n) % 10
    sets = {"uint8": ganzoo.ImageData(u8, labels, tuple("abcdefghij")), "float32": ganzoo.ImageData(to_unit(u8), labels, tuple("abcdefghij"))}
    out = {}
    for name in ("uint8", "float32") * 2:  # twice: the second round counts
        b = Batches(sets[name], 64, torch.device("cpu"), 0)
        started = time.perf_counter()
        for _ in range(batches):
            b.next()
        out[name] = batches / (time.perf_counter() - started)
    return {"uint8_batches_per_s": out["uint8"], "float32_batches_per_s": out["float32"]}


CHILDREN = {"load": child_load, "torchvision_load": child_torchvision_load, "train": child_train, "train_rss": child_train_rss, "at_rest": child_at_rest}


def run_child(name: str, env: dict, *args) -> dict:
    cmd = [sys.executable, __file__, "--child", name, json.dumps(args)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name} {args} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {name} {args}: {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=50_000)
    ap.add_argument("--workers", type=int, default=2, help="decode workers for ganzoo and torchvision alike")
    ap.add_argument("--steps", type=int, default=30, help="generator steps per timed round of the small model (the default model: a fifth)")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds per training path, alternating between the paths")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--loads-only", type=int, metavar="ROUNDS", help="only the first load and the cached start, ROUNDS times each with a new cache")
    ap.add_argument("--child")
    ap.add_argument("args", nargs="?")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(CHILDREN[a.child](*json.loads(a.args))))
        return
    tmp = Path(tempfile.mkdtemp(prefix="ganzoo-data-scale-"))
    root, env = tmp / "images", {**os.environ, "GANZOO_CACHE": str(tmp / "cache")}
    try:
        print(f"writing {a.images:,} PNGs to {root} ...", file=sys.stderr, flush=True)
        made = make_folder(root, a.images, max(1, a.workers))
        w = a.workers
        r = {"images": a.images, "workers": w, "cpus": os.cpu_count(), "make_seconds": made}
        if a.loads_only:
            for i in range(a.loads_only):
                shutil.rmtree(tmp / "cache", ignore_errors=True)  # a new cache: the next load is a first load
                first = run_child("load", env, str(root), w, "processes", True)
                cached = run_child("load", env, str(root), w, "processes", True)
                print(f"round {i + 1}: first load {first['seconds']:.2f} s, cached start {cached['seconds']:.3f} s, "
                      f"{first['seconds'] / cached['seconds']:.1f}x (cached: {cached['cached']})", flush=True)
            return
        r["first"] = run_child("load", env, str(root), w, "processes", True)
        r["cached"] = run_child("load", env, str(root), w, "processes", True)
        r["first_nocache"] = run_child("load", env, str(root), w, "processes", False)
        r["threads"] = run_child("load", env, str(root), w, "threads", False)
        r["one_process"] = run_child("load", env, str(root), 0, "processes", False)
        r["torchvision"] = run_child("torchvision_load", env, str(root), w)
        for model, steps in (("small", a.steps), ("default", max(1, a.steps // 5))):
            r[f"train_{model}"] = run_child("train", env, str(root), w, model, a.rounds, steps)
        for path in ("memory", "streaming", "torchvision"):
            r[f"rss_{path}"] = run_child("train_rss", env, str(root), w, path, "small", 20)
        r["at_rest"] = run_child("at_rest", env, 10_000, 300)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(table(r))
    if a.json:
        a.json.write_text(json.dumps(r, indent=2))


def table(r: dict) -> str:
    n, u8 = r["images"], r["first"]["bytes"]
    mb = lambda b: f"{b / 1e6:,.0f} MB"  # noqa: E731
    rate = lambda d: f"{d['images'] / d['seconds']:,.0f}"  # noqa: E731
    rss = lambda d: f"{mb(d['rss_peak'])} = {d['rss_peak'] / u8:.2f}x ({(d['rss_peak'] - d['rss_base']) / u8:.2f}x above the {mb(d['rss_base'])} after imports)"  # noqa: E731
    rows = [
        ("ganzoo, first load (walk, headers, decode, cache written)", f"{r['first']['seconds']:.1f} s", rate(r["first"]), rss(r["first"])),
        ("ganzoo, second load (from the cache)", f"{r['cached']['seconds']:.2f} s", rate(r["cached"]), rss(r["cached"])),
        ("ganzoo, first load without writing the cache", f"{r['first_nocache']['seconds']:.1f} s", rate(r["first_nocache"]), rss(r["first_nocache"])),
        (f"ganzoo, first load, {r['workers']} threads instead of processes", f"{r['threads']['seconds']:.1f} s", rate(r["threads"]), rss(r["threads"])),
        ("ganzoo, first load in one process", f"{r['one_process']['seconds']:.1f} s", rate(r["one_process"]), rss(r["one_process"])),
        (f"torchvision ImageFolder + DataLoader, {r['workers']} workers, one pass", f"{r['torchvision']['seconds']:.1f} s", rate(r["torchvision"]), rss(r["torchvision"])),
    ]
    out = [f"{n:,} RGB PNGs, 64x64, 10 classes; uint8 size {mb(u8)}; {r['workers']} decode workers", "",
           "| load | time | images/s | peak RSS (x the uint8 size) |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    out += ["", "| training path (batch 64, 1 critic step per generator step) | small model: images/s | vs in memory | default model: images/s | vs in memory |",
            "|---|---|---|---|---|"]
    small, default = r["train_small"], r["train_default"]
    for name, rate in small["images_per_s"].items():
        ratio = lambda t: f"{t['images_per_s'][name] / t['images_per_s']['memory']:.2f}x (rounds {min(a / b for a, b in zip(t['per_round'][name], t['per_round']['memory'])):.2f}-{max(a / b for a, b in zip(t['per_round'][name], t['per_round']['memory'])):.2f})"  # noqa: E731
        out.append(f"| {name} | {rate:,.1f} | {ratio(small)} | {default['images_per_s'][name]:,.1f} | {ratio(default)} |")
    out += ["", "| peak RSS of a short run (small model) | |", "|---|---|"]
    for path in ("memory", "streaming", "torchvision"):
        out.append(f"| {path} | {rss(r[f'rss_{path}'])} |")
    at = r["at_rest"]
    out += ["", f"per batch of 64 on the CPU: uint8 at rest + conversion {at['uint8_batches_per_s']:,.0f} batches/s, float32 at rest {at['float32_batches_per_s']:,.0f} batches/s"]
    return "\n".join(out)


if __name__ == "__main__":
    main()

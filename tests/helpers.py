"""What many test modules share, written once: the tiny configurations, running the command line in a
process of its own, and comparing finished runs.

Imported as ``from helpers import ...`` from any folder of tests/ (``pythonpath = ["tests"]`` in
pyproject.toml puts this folder on ``sys.path``); the fixtures are in ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]  # the repository

# A configuration small enough to train a few steps in well under a second: the seed's parts
# (LayerNorm critic, ResNet generator, gradient penalty) at toy sizes.
TINY = [
    "preset=wgan-gp-paper",
    "data=synthetic",
    "data.n=64",
    "data.size=8",
    "data.num_classes=3",
    "critic.width=2",
    "generator.base=32",
    "generator.z_dim=8",
    "train.batch_size=8",
    "train.n_critic=2",
    "train.progress=false",
    # fp32 on every machine: the default (auto) is bf16 on CPUs with avx512_bf16 or AMX and fp32 on
    # others, and the suite compares paths and processes at fp32 tolerances (bf16 has its own tests)
    "train.precision=fp32",
]


def override(base: list[str], *extra: str) -> list[str]:
    """``base`` with ``extra`` set: an item of ``extra`` replaces the item of ``base`` with the same key,
    the rest are added. The command line refuses a key given twice, so tests build their lists here."""
    keys = {item.partition("=")[0].strip() for item in extra if "=" in item}
    return [*(item for item in base if item.partition("=")[0].strip() not in keys), *extra]


# TINY smaller still, for the reliability tests that train many short runs: 32 images of 2 classes,
# one critic step per generator step, a checkpoint after every step, no sample grids.
TINY_RUN = override(
    TINY, "data.n=32", "data.num_classes=2", "generator.z_dim=4", "train.n_critic=1", "train.sample_every=0", "train.checkpoint_every=1"
)


def cli_env(fault: str | None = None, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a ganzoo process a test starts: one CPU thread (floats then match an
    in-process run exactly), no third-party plugins, and ``GANZOO_FAULT`` only when ``fault`` is given."""
    out = {k: v for k, v in os.environ.items() if k != "GANZOO_FAULT"}
    out.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", GANZOO_DISABLE_PLUGIN_AUTOLOAD="1", **(env or {}))
    if fault:
        out["GANZOO_FAULT"] = fault
    return out


def cli_command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "ganzoo.cli", *args]


def run_cli(
    args: list[str], fault: str | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``ganzoo ARGS`` in a process of its own (``args`` start with the command: ``["run", ...]``), to the end."""
    return subprocess.run(cli_command(args), env=cli_env(fault, env), capture_output=True, text=True, timeout=timeout)


def start_cli(args: list[str], fault: str | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``ganzoo ARGS`` started in a process of its own, for a test that signals or kills it."""
    return subprocess.Popen(cli_command(args), env=cli_env(fault, env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def final_state(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], list[dict[str, Any]]]:
    """A run's newest checkpoint (tensors; state.json without the wall-clock and checksum fields) and
    its metrics.jsonl lines without their ``time``: what two runs that did the same maths share."""
    from ganzoo.storage import checkpoint

    tensors, state, _ = checkpoint.load(checkpoint.list_checkpoints(run_dir / "checkpoints")[-1])
    state = {k: v for k, v in state.items() if k not in ("elapsed", "weights_sha256")}
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return tensors, state, [{k: v for k, v in json.loads(line).items() if k != "time"} for line in lines]


def assert_same_run(a: Path, b: Path, metrics: bool = True) -> None:
    """Two runs ended bit for bit alike: every tensor of the newest checkpoint (``torch.equal``), the
    counters, data position and RNG states, and (``metrics``) every logged number."""
    (ta, sa, ma), (tb, sb, mb) = final_state(a), final_state(b)
    assert ta.keys() == tb.keys()
    different = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert not different, f"tensors differ: {different[:5]}"
    assert sa == sb
    if metrics:
        assert ma == mb


# -- file-system surprises, made for real (a full disk is a small tmpfs, a read-only folder a bind mount) --
def mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextlib.contextmanager
def read_only(path: Path, can_mount: bool):
    """``path`` made read-only for real: a read-only bind mount over itself as root, a chmod otherwise."""
    if os.geteuid() == 0:
        if not can_mount:
            pytest.skip("root without mount permission cannot make a folder read-only")
        assert mount("--bind", str(path), str(path)) and mount("-o", "remount,bind,ro", str(path))
        try:
            yield
        finally:
            subprocess.run(["umount", str(path)], check=True)
        return
    modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
    for p in modes:
        p.chmod(modes[p] & ~0o222)
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


@contextlib.contextmanager
def small_disk(path: Path, size: str, can_mount: bool):
    if not can_mount:
        pytest.skip("a full disk is made with a tmpfs, which needs mount permission")
    path.mkdir(parents=True, exist_ok=True)
    assert mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def fill(disk: Path, leave: int) -> None:
    """Fill the file system of ``disk`` so that about ``leave`` bytes stay free."""
    free = shutil.disk_usage(disk).free
    with open(disk / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave))


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> content): what must stay intact."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


TORCHRUN_TIMEOUT = 180  # seconds: a hang fails the test instead of the CI job


def torchrun(*args, env_extra=None, nproc=2):
    """``python -m torch.distributed.run --standalone --nproc_per_node=NPROC ARGS``, one thread a process, to the end."""
    env = {**os.environ, "GANZOO_DIST_TIMEOUT": "60", "OMP_NUM_THREADS": "1", **(env_extra or {})}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TORCHRUN_TIMEOUT)

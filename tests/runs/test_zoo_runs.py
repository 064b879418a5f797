"""Acceptance: short runs on the embedded mnist5k that, together, use every registered critic,
generator, normaliser, encoder, constraint and loss, plus the generator EMA.

Marked slow. By default each run is 2 generator steps at tiny widths; ``GANZOO_SLOW=full`` runs
30 steps at the components' default widths, with the default batch of 64.
"""

import json
import os

import numpy as np
import pytest

from ganzoo.components import KINDS
from ganzoo.registry.host import PluginHost
from ganzoo.runs.launch import start
from ganzoo.runs.sample import sample

FULL = os.environ.get("GANZOO_SLOW") == "full"
STEPS = 30 if FULL else 2

# Each run: the options that pick components, then (tiny-size options, used unless FULL).
RUNS = {
    "seed-parts": (
        [
            "critic=layernorm_cond",
            "critic.norm=layer",
            "critic.encoder=embed_channel",
            "generator=resnet",
            "generator.norm=batch",
            "generator.encoder=embed_channel",
            "constraint=gp",
            "loss=wasserstein",
        ],
        ["critic.width=2", "generator.base=32"],
    ),
    "sngan-projection": (
        [
            "critic=dcgan",
            "critic.norm=spectral",
            "critic.encoder=projection",
            "generator=dcgan",
            "generator.norm=batch",
            "generator.encoder=cbn",
            "generator.upsample=transposed",
            "constraint=none",
            "loss=hinge",
            "train.ema=0.999",
        ],
        ["critic.width=2", "generator.base=8"],
    ),
    "lp-onehot": (
        [
            "critic=resnet",
            "critic.norm=instance",
            "critic.encoder=onehot_channel",
            "generator=mlp",
            "generator.norm=layer",
            "generator.encoder=onehot_channel",
            "constraint=lp",
            "loss=nonsaturating",
        ],
        ["critic.width=2", "generator.width=16"],
    ),
    "r1-unconditional": (
        [
            "critic=dcgan",
            "critic.norm=group",
            "critic.encoder=none",
            "generator=resnet",
            "generator.norm=group",
            "generator.encoder=none",
            "constraint=r1",
            "constraint.interval=2",
            "loss=wasserstein",
        ],
        ["critic.width=2", "critic.norm.groups=2", "generator.base=32"],
    ),
    "dragan": (
        [
            "critic=resnet",
            "critic.norm=none",
            "critic.encoder=embed_channel",
            "generator=dcgan",
            "generator.norm=instance",
            "generator.encoder=embed_channel",
            "constraint=dragan",
            "loss=hinge",
        ],
        ["critic.width=2", "generator.base=8"],
    ),
    "clip-batchnorm": (
        [
            "critic=layernorm_cond",
            "critic.norm=batch",
            "critic.encoder=onehot_channel",
            "generator=mlp",
            "generator.norm=none",
            "generator.encoder=cbn",
            "constraint=clip",
            "loss=nonsaturating",
        ],
        ["critic.width=2", "generator.width=16"],
    ),
    "r3gan-parts": (
        [
            "critic=resnet",
            "critic.norm=none",
            "critic.encoder=projection",
            "generator=resnet",
            "generator.norm=none",
            "generator.encoder=embed_channel",
            "constraint=r1r2",
            "loss=rpgan",
        ],
        ["critic.width=2", "generator.base=32"],
    ),
    "r2-lsgan": (
        [
            "critic=dcgan",
            "critic.norm=layer",
            "critic.encoder=embed_channel",
            "generator=dcgan",
            "generator.norm=batch",
            "generator.encoder=cbn",
            "constraint=r2",
            "loss=lsgan",
        ],
        ["critic.width=2", "generator.base=8"],
    ),
}


def _picked(overrides):
    """(kind, name) of every component a run's overrides pick."""
    kinds = {
        "critic": "critic",
        "generator": "generator",
        "constraint": "constraint",
        "loss": "loss",
        "critic.norm": "normaliser",
        "generator.norm": "normaliser",
        "critic.encoder": "encoder",
        "generator.encoder": "encoder",
    }
    return {(kinds[k], v) for k, _, v in (o.partition("=") for o in overrides) if k in kinds}


def test_the_runs_cover_every_component():
    host = PluginHost(entry_points=[], env={})
    covered = set().union(*(_picked(picks) for picks, _ in RUNS.values()))
    for kind in KINDS:
        if kind != "dataset":
            assert {n for k, n in covered if k == kind} == set(host.components(kind)), kind
    assert any("train.ema=0.999" in picks for picks, _ in RUNS.values())


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:group norm:UserWarning")
@pytest.mark.parametrize("run", sorted(RUNS))
def test_short_run_on_mnist5k(run, host, tmp_path):
    picks, tiny = RUNS[run]
    size = [] if FULL else [*tiny, "train.batch_size=16", "train.n_critic=2"]
    out = tmp_path / run
    start(["data=mnist5k", *picks, *size, f"train.steps={STEPS}", "train.progress=false", f"out={out}"], host)
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == list(range(1, STEPS + 1))
    assert all(np.isfinite([r["loss_d"], r["loss_g"], r["penalty"]]).all() for r in lines)
    result = sample(out, 2, tmp_path / "s.npz", host)
    assert result["images"] == [20, 1, 28, 28]

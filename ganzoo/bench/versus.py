"""``ganzoo bench --vs-reference``: the engine against the seed notes' loop, alternating in one process.

Both start from the same initial weights, take the same batches and run the same models, batch
size, ``n_critic`` and fp32 maths; each round times one generator step (``n_critic`` critic steps
and one generator step) of each, engine first.
"""

from __future__ import annotations

import dataclasses

import statistics
from typing import Any

from ganzoo.bench.measure import Settings, Setup
from ganzoo.bench.reference import ReferenceLoop
from ganzoo.bench.timing import alternate
from ganzoo.registry.config import RunConfig
from ganzoo.registry.host import PluginHost


def versus(cfg: RunConfig, host: PluginHost, settings: Settings) -> dict[str, Any]:
    if cfg.train.precision == "auto":  # the reference loop is fp32 maths, so the engine runs fp32 here too
        cfg = dataclasses.replace(cfg, train=cfg.train.model_copy(update={"precision": "fp32"}))
    setup = Setup(cfg, host)
    try:
        reference = ReferenceLoop.like(setup.trainer)  # copies of the initial weights
        stats = alternate({"engine": setup.generator_step, "reference": reference.step}, setup.device, settings.warmup, settings.rounds)
        b, n_critic = setup.batch, cfg.train.n_critic
        engine, ref = stats["engine"], stats["reference"]
        return {
            "batch": b,
            "n_critic": n_critic,
            "metrics": {
                "engine_images_per_s": {**engine.to_dict(), "per_s": b * n_critic / engine.median},
                "reference_images_per_s": {**ref.to_dict(), "per_s": b * n_critic / ref.median},
            },
            "speedup": ref.median / engine.median,
            "speedup_per_round": [r / e for e, r in zip(engine.times, ref.times)],
            "speedup_cpu_time": statistics.median(ref.cpu_times) / statistics.median(engine.cpu_times),
        }
    finally:
        setup.close()

"""Score a generator against its dataset: Fréchet distance (with its real-vs-real floor), KID,
class consistency and intra-class diversity, plus the evaluator's own held-out accuracy
(:data:`ganzoo.evaluation.metrics.QUALITY` lists them), for a run folder or during training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganzoo.components import Generator, ImageData
from ganzoo.evaluation import metrics
from ganzoo.evaluation.evaluator import Evaluator, get_evaluator
from ganzoo.evaluation.generate import generate, load_generator, noise
from ganzoo.registry.build import load_data
from ganzoo.registry.config import from_stored
from ganzoo.registry.host import PluginHost
from ganzoo.storage.folder import read_config


def score(generator: Generator, data: ImageData, evaluator: Evaluator, n: int = 1000, seed: int = 0) -> dict[str, Any]:
    """All the metrics on ``n`` generated images (class-balanced) against ``n`` real ones.

    The floor is the same distance between two disjoint random halves of the real data, each of
    size ``n``, so the ratio ``fd / fd_floor`` compares like with like.
    """
    total = len(data.labels)
    m = max(2, min(n, total // 2))
    perm = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    a_idx, b_idx = perm[:m], perm[m : 2 * m]
    real_a, real_b = data.floats(a_idx), data.floats(b_idx)  # float32 in [-1, 1], however the set is held
    fd_floor, kid_floor = metrics.frechet_and_kid(evaluator, real_a, real_b)
    labels = torch.arange(m) % data.spec.num_classes
    fake = generate(generator, noise(m, generator.z_dim, seed + 1), labels, batch=250)
    fd, kid = metrics.frechet_and_kid(evaluator, real_b, fake)
    per_class = metrics.diversity(evaluator, real_b, data.labels[b_idx], fake, labels)
    values = list(per_class.values()) or [float("nan")]
    return {
        "n": m,
        "fd": fd,
        "fd_floor": fd_floor,
        "fd_ratio": fd / max(fd_floor, 1e-12),
        "kid": kid,
        "kid_floor": kid_floor,
        "class_acc": metrics.class_consistency(evaluator, fake, labels),
        "diversity": sum(values) / len(values),
        "diversity_min": min(values),
        "evaluator_acc": evaluator.accuracy,
    }


def evaluate_run(run_dir: Path, host: PluginHost, n: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Score the newest checkpoint of a run (its EMA generator when it has one)."""
    record = read_config(run_dir)
    cfg = from_stored(record.get("config"), host, where=str(run_dir / "config.json"))
    data = load_data(cfg, host)
    generator, _spec, ckpt = load_generator(run_dir, host)
    return {"checkpoint": ckpt.name, **score(generator, data, get_evaluator(data), n=n, seed=seed)}


class TrainingEval:
    """``train.eval_every``: scores the generator during training without touching the training RNG."""

    def __init__(self, data: ImageData, n: int, seed: int):
        self.data, self.n, self.seed = data, n, seed
        self._evaluator: Evaluator | None = None

    def __call__(self, generator: Generator) -> dict[str, Any]:
        with torch.random.fork_rng(devices=[torch.cuda.current_device()] if torch.cuda.is_available() else []):
            if self._evaluator is None:
                self._evaluator = get_evaluator(self.data)
            return score(generator, self.data, self._evaluator, n=self.n, seed=self.seed)

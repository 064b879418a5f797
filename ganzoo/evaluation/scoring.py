"""Score generated images against a dataset: for a generator, a run folder, an npz file, or during
training. :data:`ganzoo.evaluation.metrics.QUALITY` lists the figures.

How a score is made (every figure the same way):

1. the evaluator's held-out images, as two halves A and B (:mod:`ganzoo.evaluation.reference`), are
   cut to ``n / 2`` images each;
2. ``n`` generated images, with labels drawn from the held-out images' class frequencies, are scored:
   one half against A, the other against B, and each figure is the mean of the two;
3. the floor of each figure is B scored against A: real images the evaluator never trained on,
   at the same size, against the same reference;
4. with ``ci``, every figure is recomputed on bootstrap resamples of the generated and the reference
   images; its 95% interval is the estimate +- 1.96 standard deviations of those
   (:func:`ganzoo.evaluation.intervals.bootstrap_interval` says why not their percentiles).
"""

from __future__ import annotations

from pathlib import Path
from statistics import mean
from typing import Any

import torch

from ganzoo.components import Generator, ImageData
from ganzoo.errors import ConfigError
from ganzoo.evaluation import distances, metrics
from ganzoo.evaluation.cas import cas_of_generator, cas_of_images
from ganzoo.evaluation.evaluator import Evaluator, get_evaluator
from ganzoo.evaluation.generate import generate, load_generator, noise
from ganzoo.evaluation.intervals import bootstrap_interval
from ganzoo.evaluation.manifold import prdc
from ganzoo.evaluation.imageset import read_npz
from ganzoo.evaluation.reference import Side, held_out_size, reference, side, subsample
from ganzoo.imagedata import to_unit
from ganzoo.registry.build import load_data
from ganzoo.registry.config import from_stored, resolve
from ganzoo.registry.host import PluginHost
from ganzoo.registry.overrides import parse_overrides
from ganzoo.storage.folder import read_config

MAX_DEFAULT_N = 2000  # without --n: all held-out images, up to this many
BOOTSTRAP = 200  # resamples for --ci
PRDC = ("precision", "recall", "density", "coverage")
SHARES = ("class_acc", "precision", "recall", "coverage", "precision_floor", "recall_floor", "coverage_floor")  # figures in [0, 1]


def per_side(n: int | None, data: ImageData, available: int | None = None) -> int:
    """Reference images per half for ``n`` generated images (all held-out ones, up to the default,
    when ``n`` is None); ``available`` caps it further (images in a file)."""
    held = held_out_size(data)
    if n is None:
        n = min(held, MAX_DEFAULT_N, available if available is not None else held)
    elif n > held:
        raise ConfigError(
            f"--n {n} is more than the {held:,} held-out real images this dataset keeps as the reference; each generated "
            f"image is scored against one of them, so use --n {held} or less."
        )
    if n < 4:
        raise ConfigError(f"--n must be at least 4 (two images a side), got {n}.")
    return n // 2


def _class_prdc(real: Side, fake: Side) -> dict[str, float]:
    """PRDC per class (classes with at least two images on both sides), averaged over the classes."""
    rows = [
        prdc(real.of_class(c).features, fake.of_class(c).features, ids_real=real.of_class(c).ids, ids_fake=fake.of_class(c).ids)
        for c in sorted(set(real.labels.tolist()) & set(fake.labels.tolist()))
        if (real.labels == c).sum() > 1 and (fake.labels == c).sum() > 1
    ]
    return {k: mean(r[k] for r in rows) if rows else float("nan") for k in PRDC}


def _join(a: Side, b: Side) -> Side:
    return Side(
        *(torch.cat((x, y)) for x, y in zip((a.labels, a.features, a.predictions), (b.labels, b.features, b.predictions))),
        torch.arange(len(a) + len(b)),
    )


def figures(ref: tuple[Side, Side], fake: tuple[Side, Side]) -> dict[str, float]:
    """Every figure of generated halves against reference halves, and its floor (B against A)."""
    pairs = list(zip(fake, ref))
    real_pair = (ref[1], ref[0])
    out: dict[str, float] = {}
    out["fd"] = mean(distances.frechet(f.features, r.features) for f, r in pairs)
    out["fd_floor"] = distances.frechet(real_pair[0].features, real_pair[1].features)
    out["fd_ratio"] = out["fd"] / max(out["fd_floor"], 1e-12)
    out["kid"] = mean(distances.kid(f.features, r.features, f.ids, r.ids) for f, r in pairs)
    out["kid_floor"] = distances.kid(real_pair[0].features, real_pair[1].features, real_pair[0].ids, real_pair[1].ids)
    fake_prdc = [_class_prdc(r, f) for f, r in pairs]
    real_prdc = _class_prdc(real_pair[1], real_pair[0])
    for k in PRDC:
        out[k] = mean(p[k] for p in fake_prdc)
        out[f"{k}_floor"] = real_prdc[k]
    fakes, reals = _join(*fake), _join(*ref)
    out["class_acc"] = metrics.class_consistency(fakes.predictions, fakes.labels)
    per_class = list(metrics.diversity(reals.features, reals.labels, fakes.features, fakes.labels).values()) or [float("nan")]
    out["diversity"], out["diversity_min"] = mean(per_class), min(per_class)
    return out


def by_class(ref: tuple[Side, Side], fake: tuple[Side, Side]) -> dict[str, Any]:
    """Class consistency of each class, for generated and for real held-out images (index = label; None
    for a class with no image on that side), and the lowest generated one: an imbalanced set's smallest
    classes are where a recipe fails first."""
    fakes, reals = _join(*fake), _join(*ref)
    k = int(max(fakes.labels.max(), reals.labels.max())) + 1 if len(fakes) and len(reals) else 0

    def each(s: Side) -> list[float | None]:
        return [
            metrics.class_consistency(s.predictions[s.labels == c], s.labels[s.labels == c]) if (s.labels == c).any() else None
            for c in range(k)
        ]

    gen, real = each(fakes), each(reals)
    present = [v for v in gen if v is not None]
    return {"class_acc_by_class": gen, "class_acc_by_class_real": real, "class_acc_min": min(present) if present else float("nan")}


def _resample(s: Side, gen: torch.Generator) -> Side:
    """A bootstrap resample of one side: as many rows, drawn with replacement (``ids`` keep the originals)."""
    return s.take(torch.randint(len(s), (len(s),), generator=gen))


def score_sides(ref: tuple[Side, Side], fake: tuple[Side, Side], evaluator: Evaluator, seed: int = 0, ci: bool = False) -> dict[str, Any]:
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, Any] = {
        "n": len(fake[0]) + len(fake[1]),
        "n_ref": len(ref[0]),
        **figures(ref, fake),
        "evaluator_acc": evaluator.accuracy,
        **by_class(ref, fake),
    }
    if ci:
        draws = [
            figures(tuple(_resample(s, gen) for s in ref), tuple(_resample(s, gen) for s in fake))  # type: ignore[arg-type]
            for _ in range(BOOTSTRAP)
        ]
        out["ci"] = {k: bootstrap_interval(out[k], [d[k] for d in draws], (0.0, 1.0) if k in SHARES else None) for k in draws[0]}
        out["ci_resamples"] = BOOTSTRAP
    return out


def score(
    generator: Generator, data: ImageData, evaluator: Evaluator, n: int | None = None, seed: int = 0, ci: bool = False
) -> dict[str, Any]:
    """Score ``n`` images of a generator against the data. Their labels are drawn independently from
    the held-out images' class frequencies, as a real sample's would be."""
    gen = torch.Generator().manual_seed(seed)
    ref = subsample(reference(data, evaluator), per_side(n, data), gen)
    held = torch.cat((reference(data, evaluator)[0].labels, reference(data, evaluator)[1].labels))
    frequencies = torch.bincount(held, minlength=data.spec.num_classes).double()
    k, m = len(ref[0]), len(ref[0]) + len(ref[1])
    labels = torch.multinomial(frequencies, m, replacement=True, generator=gen)  # (2m,)
    images = generate(generator, noise(m, generator.z_dim, seed + 1), labels, batch=250)  # (2m, C, H, W)
    fake = side(evaluator, images, labels)
    halves = (fake.take(torch.arange(k)), fake.take(torch.arange(k, m)))
    halves = tuple(Side(h.labels, h.features, h.predictions, torch.arange(len(h))) for h in halves)
    return score_sides(ref, halves, evaluator, seed, ci)  # type: ignore[arg-type]


def score_images(
    images: torch.Tensor, labels: torch.Tensor, data: ImageData, evaluator: Evaluator, n: int | None = None, seed: int = 0, ci: bool = False
) -> dict[str, Any]:
    """Score a set of images (uint8 or float, (N, C, H, W)) with their labels against the data: two
    random halves of it (``n`` images in all), each against its reference half."""
    gen = torch.Generator().manual_seed(seed)
    m = per_side(n, data, available=len(labels))
    if 2 * m > len(labels):
        raise ConfigError(f"--n {n} asks for more images than the {len(labels)} in the set.")
    ref = subsample(reference(data, evaluator), m, gen)
    perm = torch.randperm(len(labels), generator=gen)
    chosen = (perm[: len(ref[0])], perm[len(ref[0]) : len(ref[0]) + len(ref[1])])
    halves = tuple(side(evaluator, to_unit(images[rows]), labels[rows]) for rows in chosen)
    return score_sides(ref, halves, evaluator, seed, ci)  # type: ignore[arg-type]


def evaluate_run(
    run_dir: Path, host: PluginHost, n: int | None = None, seed: int = 0, ci: bool = False, cas: bool = False
) -> dict[str, Any]:
    """Score the newest checkpoint of a run (its EMA generator when it has one)."""
    record = read_config(run_dir)
    cfg = from_stored(record.get("config"), host, where=str(run_dir / "config.json"))
    data = load_data(cfg, host)
    generator, _spec, ckpt = load_generator(run_dir, host)
    evaluator = get_evaluator(data)
    result = {
        "source": str(run_dir),
        "checkpoint": ckpt.name,
        "data": cfg.name("data"),
        "num_classes": data.spec.num_classes,
        **score(generator, data, evaluator, n=n, seed=seed, ci=ci),
    }
    if cas:
        result.update(cas_of_generator(generator, data, evaluator, seed))
    return result


def evaluate_file(
    path: Path, overrides: list[str], host: PluginHost, n: int | None = None, seed: int = 0, ci: bool = False, cas: bool = False
) -> dict[str, Any]:
    """Score the images of an npz file against the dataset ``data=NAME [data.OPTION=VALUE ...]`` names."""
    from ganzoo.registry.build import load_data

    given = parse_overrides(overrides)
    other = [k for k in given if k != "data" and not k.startswith("data.")]
    if other or "data" not in given:
        got = f" (got {', '.join(repr(k) for k in other)})" if other else ""
        raise ConfigError(
            f"ganzoo eval FILE.npz needs the dataset to score against, and takes only data=NAME and data.OPTION=VALUE{got}: "
            "e.g. ganzoo eval samples.npz data=mnist5k. ganzoo list dataset shows the datasets."
        )
    cfg = resolve(given, host, check_compat=False)
    data = load_data(cfg, host)
    images, labels = read_npz(path, data.spec, cfg.name("data"))
    evaluator = get_evaluator(data)
    result = {
        "source": str(path),
        "checkpoint": None,
        "data": cfg.name("data"),
        "num_classes": data.spec.num_classes,
        **score_images(images, labels, data, evaluator, n=n, seed=seed, ci=ci),
    }
    if cas:
        result.update(cas_of_images(images, labels, data, evaluator))
    return result


class TrainingEval:
    """``train.eval_every``: scores the generator during training without touching the training RNG."""

    def __init__(self, data: ImageData, n: int, seed: int):
        self.data, self.n, self.seed = data, n, seed
        self._evaluator: Evaluator | None = None

    def __call__(self, generator: Generator) -> dict[str, Any]:
        with torch.random.fork_rng(devices=[torch.cuda.current_device()] if torch.cuda.is_available() else []):
            if self._evaluator is None:
                self._evaluator = get_evaluator(self.data)
            n = min(self.n, held_out_size(self.data))  # train.eval_n beyond the reference set scores all of it
            return score(generator, self.data, self._evaluator, n=n, seed=self.seed)

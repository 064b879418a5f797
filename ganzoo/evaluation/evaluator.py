"""The offline evaluator: a CNN classifier trained once per dataset on part of its real images.

No pretrained network can be downloaded here, and Inception judges 28x28 glyphs poorly anyway, so
ganzoo trains its own judge and caches it as safetensors under ``$GANZOO_CACHE`` (default
``~/.cache/ganzoo``), keyed by a hash of the dataset.

- **The split.** A fixed, class-stratified fifth of the data (at most 5,000 images) is *held out*:
  the evaluator never trains on it. Every reference set and every floor comes from it
  (:mod:`ganzoo.evaluation.reference`), so real images that the judge has memorised never stand in
  for "the data".
- **The network.** Conv-BN-ReLU stages (two convs, then a 2x max-pool; as many stages as it takes
  to bring the image down to about 7 px), one more conv, a 3x3 pool and a 128-d ReLU layer: the
  feature space of every distance. Its predictions give class consistency.
- **The recipe.** Random affine augmentation (rotation, scale, shear, shift; what comes in from outside
  the image is the data's own background, the median corner pixel), label smoothing, classes weighted
  by inverse frequency when the largest has 1.5 times the smallest's images,
  dropout, AdamW with a one-cycle schedule, about 60,000 images seen in all (15 epochs of
  ``mnist5k``'s 4,000 training images). On ``mnist5k``: 0.991 held-out accuracy on its 1,000
  held-out digits, in about 40 s on 2 CPU cores (README, "Measuring quality").
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ganzoo.components import ImageData
from ganzoo.errors import os_reason
from ganzoo.storage.atomic import replacing

VERSION = 3  # bump when the architecture, the split or the training recipe changes: old caches are then ignored
FEATURES = 128
HELD_OUT = 0.2  # the share of each class the evaluator never trains on ...
MAX_HELD_OUT = 5000  # ... up to this many images in all
IMAGES_SEEN = 60_000  # training length in images (epochs = this / training images, 2 to 15)


def _stage(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class Classifier(nn.Module):
    """Stages of (conv, conv, max-pool) down to about 7 px, a 128-channel conv, a 3x3 pool, a 128-d
    ReLU layer (``features``) and a linear head. Sizes come from the data: any channels, any size."""

    def __init__(self, channels: int, size: int, num_classes: int):
        super().__init__()
        pools = max(1, round(math.log2(max(size, 2) / 7)))  # 8-16 px: 1, 28-32 px: 2, 64 px: 3, 128 px: 4
        layers: list[nn.Module] = []
        c_in = channels
        for i in range(pools):
            width = min(32 * 2**i, 128)
            layers += [*_stage(c_in, width), *_stage(width, width), nn.MaxPool2d(2)]
            c_in = width
        layers += [*_stage(c_in, 128), nn.AdaptiveMaxPool2d(3), nn.Flatten()]  # (N, 128 * 3 * 3)
        layers += [nn.Linear(128 * 9, FEATURES), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURES, num_classes))
        self.num_features = FEATURES

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # (N, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (N, num_classes)


@dataclass
class Evaluator:
    model: Classifier
    accuracy: float  # accuracy on the held-out real images
    key: str
    cache: dict = field(default_factory=dict, repr=False)  # the reference features, computed once (ganzoo.evaluation.reference)

    @torch.no_grad()
    def features_and_predictions(self, images: torch.Tensor, batch: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 128) features and (N,) predicted classes of float images in [-1, 1], in one pass."""
        self.model.eval()
        feats, preds = [], []
        for i in range(0, len(images), batch):
            f = self.model.features(images[i : i + batch].float())
            feats.append(f)
            preds.append(self.model.head(f).argmax(1))
        if not feats:
            return torch.zeros(0, FEATURES), torch.zeros(0, dtype=torch.int64)
        return torch.cat(feats), torch.cat(preds)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.features_and_predictions(images)[0]

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return self.features_and_predictions(images)[1]


def dataset_key(data: ImageData) -> str:
    """A hash of the dataset: of its ``key`` when the loader named the content, else of the images as held."""
    h = hashlib.sha256()
    h.update(f"v{VERSION}:{tuple(data.shape)}:{len(data.classes)}".encode())
    h.update(f"key:{data.key}".encode() if data.key is not None else data.pixels.contiguous().numpy().tobytes())
    h.update(data.labels.contiguous().numpy().tobytes())
    if class_weights(data.labels, len(data.classes)) is not None:  # judges of imbalanced sets trained before weighting are not reused
        h.update(b"weighted")
    if background(data.floats(torch.arange(min(len(data.labels), 1000)))).ne(-1).any():  # nor those warped onto black
        h.update(b"fill")
    return h.hexdigest()[:20]


def cache_dir() -> Path:
    return Path(os.environ.get("GANZOO_CACHE", Path.home() / ".cache" / "ganzoo")) / "evaluators"


def split(labels: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(training indices, held-out indices): a fixed fifth of every class held out (at most
    ``MAX_HELD_OUT`` images in all; a class of one or two images is held out only from the second
    image on, so that the evaluator sees every class)."""
    n = len(labels)
    share = min(HELD_OUT, MAX_HELD_OUT / max(n, 1))
    gen = torch.Generator().manual_seed(seed)
    train, held = [], []
    for c in torch.unique(labels).tolist():
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        k = min(len(idx) - 1, round(len(idx) * share))
        held.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train).sort().values, torch.cat(held).sort().values


IMBALANCED = 1.5  # classes are weighted in the evaluator's loss when the largest has this many times the smallest's images


def class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor | None:
    """Inverse class frequencies (mean 1) for an imbalanced set, so that the judge does not learn to
    answer its large classes: without them, the 85 'activities' of the Twemoji set were never once
    predicted right. None for a balanced set (mnist5k's 500 a class), whose judge stays as it was."""
    counts = torch.bincount(labels, minlength=num_classes).double()
    present = counts[counts > 0]
    if len(present) < 2 or present.max() < IMBALANCED * present.min():
        return None
    w = torch.where(counts > 0, 1.0 / counts.clamp(min=1), torch.zeros_like(counts))
    return (w * len(present) / w.sum()).float()  # (K,)


def background(images: torch.Tensor) -> torch.Tensor:
    """The per-channel median of the images' four corner pixels, (1, C, 1, 1): what lies outside an
    image when it is warped (-1 for digits on black, 1 for icons on white)."""
    corners = images[:, :, [0, 0, -1, -1], [0, -1, 0, -1]]  # (N, C, 4)
    return corners.permute(1, 0, 2).flatten(1).median(1).values.reshape(1, -1, 1, 1)


def augment(x: torch.Tensor, gen: torch.Generator, fill: torch.Tensor | float = -1.0) -> torch.Tensor:
    """A random affine warp of each image (N, C, H, W) in [-1, 1]: rotation up to 12 degrees, scale
    and shear up to 10%, shift up to 9% of the size; what comes in from outside is ``fill`` (a number,
    or (1, C, 1, 1) per channel: :func:`background`)."""
    n = x.shape[0]
    u = lambda *shape: torch.rand(*shape, generator=gen) * 2 - 1  # noqa: E731 (uniform in [-1, 1])
    angle, scale, shear, shift = u(n) * math.radians(12), 1 + u(n) * 0.1, u(n) * 0.1, u(n, 2) * 0.18
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, shear - sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x - fill, grid, align_corners=False) + fill  # zero padding of x - fill is fill padding of x


def train_classifier(
    data: ImageData,
    epochs: int | None = None,
    batch: int = 128,
    seed: int = 0,
    indices: tuple[torch.Tensor, torch.Tensor] | None = None,
    labels: torch.Tensor | None = None,
    images=None,
) -> tuple[Classifier, float]:
    """Train the evaluator's classifier on the training split and return it with its accuracy on the
    held-out split. ``images``/``labels`` (a float tensor and its labels) replace the data's training
    images, as classification accuracy score (CAS) does with generated ones."""
    spec = data.spec
    train_idx, test_idx = indices if indices is not None else split(data.labels, seed)
    n_train = len(images) if images is not None else len(train_idx)
    epochs = epochs if epochs is not None else max(2, min(15, round(IMAGES_SEEN / max(n_train, 1))))
    fetch = (
        (lambda idx: (images[idx], labels[idx]))
        if images is not None
        else (lambda idx: (data.floats(train_idx[idx]), data.labels[train_idx[idx]]))
    )
    gen = torch.Generator().manual_seed(seed)
    real = data.floats(train_idx[:1000])  # (<=1000, C, H, W): what the warp's outside and the class weights come from
    fill = background(real) if len(real) else -1.0
    weights = class_weights(data.labels[train_idx], spec.num_classes) if images is None else None
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = Classifier(spec.channels, spec.size, spec.num_classes)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
        steps = epochs * math.ceil(n_train / batch)
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=max(steps, 1), pct_start=0.2)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(n_train, generator=gen)
            for i in range(0, n_train, batch):
                x, y = fetch(order[i : i + batch])
                loss = F.cross_entropy(model(augment(x, gen, fill)), y, weight=weights, label_smoothing=0.05)
                opt.zero_grad()
                loss.backward()
                opt.step()
                schedule.step()
    model.eval()
    with torch.no_grad():
        pred = torch.cat(
            [model(data.floats(test_idx[i : i + 500])).argmax(1) for i in range(0, len(test_idx), 500)]
            or [torch.zeros(0, dtype=torch.int64)]
        )
    accuracy = float((pred == data.labels[test_idx]).float().mean()) if len(test_idx) else float("nan")
    return model, accuracy


def get_evaluator(data: ImageData, *, cache: bool = True) -> Evaluator:
    """The cached evaluator for this dataset, training (and caching) it on first use."""
    key = dataset_key(data)
    path = cache_dir() / f"{key}.safetensors"
    spec = data.spec
    if cache and path.is_file():
        try:
            tensors = load_file(str(path))
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                meta = json.loads(f.metadata()["ganzoo_evaluator"])
            model = Classifier(spec.channels, spec.size, spec.num_classes)
            model.load_state_dict(tensors)
            return Evaluator(model.eval(), float(meta["accuracy"]), key)
        except Exception:  # a damaged cache entry is retrained, never trusted
            pass
    model, accuracy = train_classifier(data)
    if cache:
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with replacing(path) as tmp:
                save_file(state, str(tmp), metadata={"ganzoo_evaluator": json.dumps({"accuracy": accuracy, "version": VERSION})})
        except (OSError, SafetensorError) as exc:  # a read-only or full cache costs a retraining next time, nothing else
            warnings.warn(
                f"The evaluator could not be cached in {path.parent} ({os_reason(exc)}); scoring goes on, and the next "
                "evaluation trains it again. Set GANZOO_CACHE to a writable folder to keep it.",
                stacklevel=2,
            )
    return Evaluator(model, accuracy, key)

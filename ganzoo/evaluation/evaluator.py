"""The offline evaluator: a small classifier trained on the run's own real images.

No pretrained network can be downloaded here, and Inception judges 28x28 glyphs poorly anyway, so
ganzoo trains a small CNN once per dataset and caches it as safetensors under
``$GANZOO_CACHE`` (default ``~/.cache/ganzoo``), keyed by a hash of the dataset. Its penultimate
layer is the feature space for the Fréchet distance, KID and diversity; its predictions give
class consistency. Its held-out accuracy on real images is reported next to every score.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ganzoo.components import ImageData
from ganzoo.errors import os_reason
from ganzoo.storage.atomic import replacing

VERSION = 2  # bump when the architecture or training recipe changes: old caches are then ignored
FEATURES = 128


class Classifier(nn.Module):
    """conv-pool-conv-pool-linear; ``features`` gives the 128-d penultimate activations."""

    def __init__(self, channels: int, size: int, num_classes: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),  # (N, 64 * (size // 4) ** 2)
            nn.Linear(64 * (size // 4) ** 2, FEATURES), nn.ReLU(),
        )
        self.head = nn.Linear(FEATURES, num_classes)
        self.num_features = FEATURES  # read by torchmetrics when used as a custom feature extractor

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # (N, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (N, num_classes)


@dataclass
class Evaluator:
    model: Classifier
    accuracy: float  # held-out accuracy on real images
    key: str

    @torch.no_grad()
    def features(self, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
        self.model.eval()
        return torch.cat([self.model.features(images[i : i + batch]) for i in range(0, len(images), batch)])

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
        self.model.eval()
        return torch.cat([self.model(images[i : i + batch]).argmax(1) for i in range(0, len(images), batch)])


def dataset_key(data: ImageData) -> str:
    """A hash of the dataset: of its ``key`` when the loader named the content, else of the images as held."""
    h = hashlib.sha256()
    h.update(f"v{VERSION}:{tuple(data.shape)}:{len(data.classes)}".encode())
    h.update(f"key:{data.key}".encode() if data.key is not None else data.pixels.contiguous().numpy().tobytes())
    h.update(data.labels.contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def cache_dir() -> Path:
    return Path(os.environ.get("GANZOO_CACHE", Path.home() / ".cache" / "ganzoo")) / "evaluators"


def split(n: int, seed: int = 0, held_out: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed train / held-out split of ``n`` indices."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    k = max(1, int(n * held_out))
    return perm[k:], perm[:k]


def train_classifier(data: ImageData, epochs: int = 8, batch: int = 128, seed: int = 0) -> tuple[Classifier, float]:
    spec = data.spec
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = Classifier(spec.channels, spec.size, spec.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_idx, test_idx = split(len(data.labels), seed)
    model.train()
    for _ in range(epochs):
        order = train_idx[torch.randperm(len(train_idx), generator=gen)]
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            loss = nn.functional.cross_entropy(model(data.floats(idx)), data.labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(data.floats(test_idx[i : i + 500])).argmax(1) for i in range(0, len(test_idx), 500)])
    return model, float((pred == data.labels[test_idx]).float().mean())


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
                "evaluation trains it again. Set GANZOO_CACHE to a writable folder to keep it.", stacklevel=2,
            )
    return Evaluator(model, accuracy, key)

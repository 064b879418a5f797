"""Datasets: the embedded mnist5k, torchvision roots with missing files, image folders."""

import numpy as np
import pytest
import torch

from ganzoo.registry.build import load_data
from ganzoo.registry.config import resolve
from ganzoo.errors import DataError


def _load(host, *overrides):
    return load_data(resolve(list(overrides), host), host)


def test_mnist5k_is_the_embedded_default(host):
    cfg = resolve([], host)
    assert cfg.name("data") == "mnist5k"
    data = load_data(cfg, host)
    assert data.images.shape == (5000, 1, 28, 28) and data.images.dtype == torch.float32
    assert data.images.min() >= -1 and data.images.max() <= 1
    assert torch.bincount(data.labels).tolist() == [500] * 10
    assert data.spec.num_classes == 10


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST"), ("kmnist", "KMNIST"), ("emnist", "EMNIST")])
def test_torchvision_sets_say_where_files_were_expected(host, tmp_path, name, folder):
    with pytest.raises(DataError) as err:
        _load(host, f"data={name}", f"data.root={tmp_path}")
    assert str(tmp_path / folder) in str(err.value) and "never downloads" in str(err.value)


def test_mnist_reads_a_local_torchvision_root(host, tmp_path):
    from torchvision.datasets import MNIST

    processed = tmp_path / "MNIST" / "raw"
    processed.mkdir(parents=True)
    images = (torch.rand(6, 28, 28) * 255).to(torch.uint8)
    labels = torch.tensor([0, 1, 2, 3, 4, 5], dtype=torch.uint8)
    for split in ("train", "t10k"):  # torchvision checks that both splits are present
        _write_idx(processed / f"{split}-images-idx3-ubyte", images.numpy(), 0x0803)
        _write_idx(processed / f"{split}-labels-idx1-ubyte", labels.numpy(), 0x0801)
    data = _load(host, "data=mnist", f"data.root={tmp_path}")
    assert data.images.shape == (6, 1, 28, 28) and data.labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert torch.allclose(data.images[0, 0], images[0].float() / 127.5 - 1)
    assert data.classes == tuple(MNIST.classes)


def _write_idx(path, array, magic):
    with open(path, "wb") as f:
        f.write(magic.to_bytes(4, "big"))
        for d in array.shape:
            f.write(int(d).to_bytes(4, "big"))
        f.write(np.ascontiguousarray(array).tobytes())


def _png(path, size=(10, 12), color=(200, 10, 10)):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def test_imagefolder_resizes_mixed_sizes(host, tmp_path):
    _png(tmp_path / "cats" / "a.png", (10, 12))
    _png(tmp_path / "dogs" / "b.png", (40, 30), (0, 0, 255))
    data = _load(host, "data=imagefolder", f"data.root={tmp_path}", "data.size=8")
    assert data.images.shape == (2, 3, 8, 8) and data.classes == ("cats", "dogs")
    assert data.labels.tolist() == [0, 1]
    gray = _load(host, "data=imagefolder", f"data.root={tmp_path}", "data.size=8", "data.channels=1")
    assert gray.images.shape == (2, 1, 8, 8)


@pytest.mark.parametrize(
    "layout,fragment",
    [
        ("missing", "does not exist"),
        ("no_classes", "subfolder per class"),
        ("empty_class", "subfolder per class"),
        ("unreadable", "cannot read the image"),
    ],
)
def test_imagefolder_errors_are_clear(host, tmp_path, layout, fragment):
    root = tmp_path / "root"
    if layout != "missing":
        root.mkdir()
    if layout == "empty_class":
        _png(root / "a" / "x.png")
        (root / "b").mkdir()
    if layout == "unreadable":
        _png(root / "a" / "x.png")
        (root / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=fragment) as err:
        _load(host, "data=imagefolder", f"data.root={root}")
    if layout == "unreadable":
        assert "broken.png" in str(err.value)

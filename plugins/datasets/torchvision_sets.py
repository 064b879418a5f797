"""MNIST-family datasets read from a local torchvision root. ganzoo never downloads them."""

from pathlib import Path
from typing import Literal

import torch
from pydantic import Field

import ganzoo


class _TorchvisionDigits(ganzoo.Dataset):
    tv_class = ""  # torchvision.datasets attribute
    folder = ""

    class Config(ganzoo.Config):
        root: str = Field("data", description="torchvision root folder that holds the dataset's folder")
        split: Literal["train", "test"] = Field("train", description="which split to train on")

    def _open(self, root: Path, train: bool):
        import torchvision.datasets as tvd

        return _no_legacy(getattr(tvd, self.tv_class))(root=str(root), train=train, download=False)

    def load(self):
        root = Path(self.cfg.root).expanduser()
        try:
            ds = self._open(root, self.cfg.split == "train")
        except (RuntimeError, FileNotFoundError):
            raise ganzoo.DataError(
                f"data={self.name}: the {self.tv_class} files were not found under {root / self.folder}. ganzoo never downloads "
                "data: put the torchvision-format files there, or set "
                f"data.root=DIR to the folder that contains '{self.folder}/'. data=mnist5k works offline."
            ) from None
        images = torch.as_tensor(ds.data).float().unsqueeze(1) / 127.5 - 1.0  # (N, 1, 28, 28)
        return ganzoo.ImageData(images, torch.as_tensor(ds.targets, dtype=torch.int64), tuple(str(c) for c in ds.classes))


def _no_legacy(cls: type) -> type:
    """The torchvision class without its legacy ``processed/*.pt`` path: those files are pickles
    (read with ``torch.load``), and ganzoo never unpickles anything. Only the raw idx files are read."""
    return type(cls.__name__, (cls,), {"_check_legacy_exist": lambda self: False})


class Mnist(_TorchvisionDigits):
    name, tv_class, folder = "mnist", "MNIST", "MNIST"
    description = "MNIST, 60,000 digits, from a local torchvision root (data.root)"
    reference = "LeCun et al. 1998"


class FashionMnist(_TorchvisionDigits):
    name, tv_class, folder = "fashion_mnist", "FashionMNIST", "FashionMNIST"
    description = "Fashion-MNIST, 60,000 clothing images, from a local torchvision root"
    reference = "Xiao et al. 2017, arXiv 1708.07747"


class Kmnist(_TorchvisionDigits):
    name, tv_class, folder = "kmnist", "KMNIST", "KMNIST"
    description = "Kuzushiji-MNIST, 60,000 cursive Japanese characters, from a local torchvision root"
    reference = "Clanuwat et al. 2018, arXiv 1812.01718"


class Emnist(_TorchvisionDigits):
    name, tv_class, folder = "emnist", "EMNIST", "EMNIST"
    description = "EMNIST letters and digits (data.emnist_split), from a local torchvision root"
    reference = "Cohen et al. 2017, arXiv 1702.05373"

    class Config(_TorchvisionDigits.Config):
        emnist_split: Literal["byclass", "bymerge", "balanced", "letters", "digits", "mnist"] = Field(
            "balanced", description="EMNIST split"
        )

    def _open(self, root, train):
        import torchvision.datasets as tvd

        return _no_legacy(tvd.EMNIST)(root=str(root), split=self.cfg.emnist_split, train=train, download=False)

    def load(self):
        data = super().load()
        # EMNIST stores images transposed; (N, 1, H, W) -> (N, 1, W, H) puts them upright.
        return ganzoo.ImageData(data.images.transpose(2, 3).contiguous(), data.labels, data.classes)


@ganzoo.hookimpl
def register_datasets(register):
    for cls in (Mnist, FashionMnist, Kmnist, Emnist):
        register(cls)

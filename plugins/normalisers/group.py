"""GroupNorm: per-sample statistics over groups of channels (Wu & He 2018).

``groups`` must divide each layer's channel count. Where it does not, the layer uses the largest
divisor of its channel count below ``groups`` that leaves at least two values per group, and a
warning names the layer size and the group count used. (With fewer channels than groups this is
one group per channel, i.e. instance norm with an affine map.)
"""

import warnings

from pydantic import Field
from torch import nn

import ganzoo


def group_count(channels: int, height: int, width: int, groups: int) -> int:
    """The largest g <= groups that divides ``channels`` with at least 2 values per group (1 if none)."""
    for g in range(min(groups, channels), 0, -1):
        if channels % g == 0 and (channels // g) * height * width >= 2:
            return g
    return 1


class GroupNormaliser(ganzoo.Normaliser):
    name = "group"
    description = "GroupNorm: per-sample statistics over groups of channels (critic.norm.groups, default 32)"
    reference = "Wu & He 2018, arXiv 1803.08494"

    class Config(ganzoo.Config):
        groups: int = Field(
            32,
            ge=1,
            le=4096,
            description="channel groups per layer (the paper's default is 32); falls back to a divisor of the channel count",
        )

    def __init__(self, cfg):
        super().__init__(cfg)
        self._warned: set[tuple[int, int]] = set()

    def __call__(self, channels: int, height: int, width: int, affine: bool = True) -> nn.Module:
        g = group_count(channels, height, width, self.cfg.groups)
        if g != self.cfg.groups and (channels, g) not in self._warned:
            self._warned.add((channels, g))
            warnings.warn(
                f"group norm: {channels} channels cannot be split into {self.cfg.groups} groups; this layer uses {g} "
                f"group(s) of {channels // g} channel(s). Set NETWORK.norm.groups to a divisor of the channel counts to silence this.",
                UserWarning,
                stacklevel=2,
            )
        return nn.GroupNorm(g, channels, affine=affine)


@ganzoo.hookimpl
def register_normalisers(register):
    register(GroupNormaliser)

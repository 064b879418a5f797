"""The projection discriminator's conditioning (Miyato & Koyama 2018): the critic's score gains
<embed(y), phi(x)>, the inner product of a learned class embedding with the critic's final feature
vector. Critic only: it needs the critic's features, so the critic passes ``features=D``.
"""

import torch
from torch import nn

import ganzoo


class Projection(ganzoo.Encoder):
    name = "projection"
    description = "critic only: adds <embed(label), features> to the critic's score (projection discriminator)"
    reference = "Miyato & Koyama 2018, arXiv 1802.05637"
    mode = "projection"
    roles = frozenset({"critic"})
    channels = 0

    def __init__(self, cfg, num_classes, height, width, features=0):
        super().__init__(cfg, num_classes, height, width, features)
        if features < 1:
            raise ganzoo.ConfigError(
                "encoder 'projection' needs the width of the critic's feature vector: the critic must build "
                "its encoder as parts['encoder'](height, width, features=D). This critic does not, so it "
                "cannot use projection; pick another critic.encoder."
            )
        self.embed = nn.Embedding(num_classes, features)
        nn.init.xavier_uniform_(self.embed.weight)

    def projection(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        ganzoo.assert_shape(features, (labels.shape[0], self.features), "projection features")
        return (self.embed(labels) * features).sum(1)  # (N,)


@ganzoo.hookimpl
def register_encoders(register):
    register(Projection)

"""Zero-centred gradient penalty: weight * ||grad f(x_hat)||^2 at real/fake interpolates.

Interpolates take the label of their real image (ganzoo generates each fake for that same label).
"""

from pydantic import Field

import ganzoo


class ZeroCentredGP(ganzoo.Constraint):
    name = "zero_gp"
    description = "zero-centred gradient penalty ||grad f||^2 at interpolates (example plugin)"
    reference = "Thanh-Tung et al. 2019, arXiv 1902.03984"
    per_sample = True  # refuses critics with BatchNorm, like gp
    double_backward = True  # the penalty differentiates an input gradient: train.compile=true is refused with it

    class Config(ganzoo.Config):
        weight: float = Field(10.0, ge=0, description="penalty weight")
        interval: int = Field(1, ge=1, description="apply every k critic steps, scaled by k")

    def penalty(self, critic, real, fake, labels, step):
        scale = ganzoo.lazy_scale(step, self.cfg.interval)
        if scale == 0:
            return None
        norms = ganzoo.input_gradient_norms(critic, ganzoo.interpolate(real, fake), labels)  # (N,)
        return self.cfg.weight * scale * norms.pow(2).mean()

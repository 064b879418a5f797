"""No Lipschitz constraint."""

import ganzoo


class NoConstraint(ganzoo.Constraint):
    name = "none"
    description = "no Lipschitz constraint (use with a loss or critic that does not need one)"
    reference = "baseline (no paper)"


@ganzoo.hookimpl
def register_constraints(register):
    register(NoConstraint)

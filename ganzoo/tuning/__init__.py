"""``ganzoo tune``: search for a recipe with Optuna. Each trial is an ordinary ganzoo run folder.

- :mod:`~ganzoo.tuning.space`: the ``--space`` syntax, and sampling it (options that exist only for
  one component are sampled only when that component is chosen);
- :mod:`~ganzoo.tuning.trial`: one trial, a ``ganzoo run`` process watched for pruning;
- :mod:`~ganzoo.tuning.study`: the study folder, its storage, the workers, heartbeats and retries,
  the results (``--show``, the best trial's overrides for ``ganzoo run preset-from=DIR``).

Optuna is an optional dependency (``pip install 'ganzoo[tune]'``); nothing else in ganzoo needs it.
"""

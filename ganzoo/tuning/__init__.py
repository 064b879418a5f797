"""``ganzoo tune``: search for a recipe with Optuna. Each trial is an ordinary ganzoo run folder.

- :mod:`~ganzoo.tuning.space`: the ``--space`` syntax, and sampling it (options that exist only for
  one component are sampled only when that component is chosen);
- :mod:`~ganzoo.tuning.trial`: one trial, a ``ganzoo run`` process watched for pruning, in a run
  folder it continues only when the folder holds its own configuration;
- :mod:`~ganzoo.tuning.storage`: the Optuna storage, checked before anything is written (a damaged
  or foreign ``study.db``, a bad ``--storage`` URL), and opened read-only for ``--show``;
- :mod:`~ganzoo.tuning.study`: the study folder (ganzoo's only when ganzoo made it), the plan and
  its checks, the workers, heartbeats and retries;
- :mod:`~ganzoo.tuning.results`: what a study found (``--show``, the best trial's overrides for
  ``ganzoo run preset-from=DIR``).

Optuna is an optional dependency (``pip install 'ganzoo[tune]'``); nothing else in ganzoo needs it.
"""

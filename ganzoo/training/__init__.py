"""Training: the loop and the parts it calls.

- :mod:`~ganzoo.training.loop`: the :class:`Trainer` and its loop (begin, step, check, report);
- :mod:`~ganzoo.training.steps`: one generator step: scores -> loss -> penalty -> update -> after-step;
- :mod:`~ganzoo.training.batches`: shuffled minibatches from the data on the device;
- :mod:`~ganzoo.training.state`: what a checkpoint holds of a trainer, and putting it back;
- :mod:`~ganzoo.training.progress`: the small interface the loop reports through;
- parts: :mod:`~ganzoo.training.ema`, :mod:`~ganzoo.training.guard` (NaN/Inf),
  :mod:`~ganzoo.training.precision`, :mod:`~ganzoo.training.speed`,
  :mod:`~ganzoo.training.distributed` (joining the ranks, averaging gradients; the rank maths is
  :mod:`ganzoo.ranks`, and the test-only fault injection :mod:`ganzoo.faults`, both on the ground floor).

Nothing here writes files: :mod:`ganzoo.runs` does, through the loop's recorder.
"""

"""What the commands do with runs: start and resume one (:mod:`~ganzoo.runs.launch`), write its
outputs while it trains (:mod:`~ganzoo.runs.recorder`), sample from it, sweep, compare."""

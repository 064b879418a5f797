"""Quality, measured offline: the evaluator network, the quality metrics (one table,
:data:`ganzoo.evaluation.metrics.QUALITY`), generating images from a generator or a run, scoring."""

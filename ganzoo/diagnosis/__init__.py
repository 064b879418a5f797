"""``ganzoo doctor``: why a run fails, from the evidence it logged.

- :mod:`~ganzoo.diagnosis.evidence`: what the doctor reads of a run (config.json, metrics.jsonl,
  the quality scores, the sample grids) and the helpers every finding reads a series with;
- :mod:`~ganzoo.diagnosis.findings`: the table of findings (:data:`FINDINGS`), one entry each, whose
  detect functions return the evidence as named numbers (thresholds in :mod:`~ganzoo.diagnosis.thresholds`);
- :mod:`~ganzoo.diagnosis.outcomes`: the findings read from quality scores and sample grids;
- :mod:`~ganzoo.diagnosis.prose`: each finding's evidence as a sentence, from its numbers;
- :mod:`~ganzoo.diagnosis.advice`: the likely cause in this configuration and a change to try;
- :mod:`~ganzoo.diagnosis.grids`: how alike a sample grid's columns and rows are;
- :mod:`~ganzoo.diagnosis.doctor`: running the table on a run, the report;
- :mod:`~ganzoo.diagnosis.monitor`: the online checks during training (one warning per finding).

The evidence itself is computed during training by :mod:`ganzoo.training.diagnostics`.
"""

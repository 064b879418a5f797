"""The thresholds of ``ganzoo doctor``'s findings, shared by the checks that apply them
(:mod:`ganzoo.diagnosis.findings`) and the sentences that say what they saw
(:mod:`ganzoo.diagnosis.prose`). The README (`ganzoo doctor`) says how they were chosen."""

from __future__ import annotations

SIGNAL_FLOOR = 1e-5  # score spread and |W| at or below this: the critic tells no image from another
PENALTY_SHARE = 0.5  # the penalty outweighs the adversarial loss (this share of the critic's loss or more) after WARMUP steps
WARMUP = 50  # a gradient penalty starts at about its weight (the input gradient starts near 0): not counted
RIGHT = 0.99  # the critic is right about this share of the images or more ...
SATURATED = 20.0  # ... and its own gradient fell this many times since the start
VANISHED = 0.1  # ... or the generator's gradient fell to this share of its peak
EXPLODING = 100.0  # a gradient norm this many times its early level
OSCILLATING = 0.3  # spread of W over its mean, over the last third (medians of 5 steps)
COLLAPSED_GRID = 1 / 3  # the grid's columns vary this share of their most, or less
SAME_ROWS = 0.05  # the grid's rows vary this share of its columns, or less
CHANCE_LEVEL = 1.2  # class consistency at or below this many times chance (1/K) is chance level
POOR_FD = 30.0  # Fréchet distance this many times the real-vs-real floor, or more: poor quality
SHORT_OF_PLAN = 0.5  # a run stopped by train.max_minutes after at most this share of train.steps: out of time
AT_CAP = 0.9  # ... and its last step line's training time is at least this share of the cap (it was the cap that stopped it)
OVERFIT = 0.3  # (training real - held-out real) / (training real - generated) mean critic scores at least this over the last third ...
OVERFIT_GROWTH = 0.2  # ... and this much above its level over the first 3 probes (Karras et al. 2020's r_v)

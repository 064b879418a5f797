"""How ganzoo keeps things on disk: atomic writes, checkpoints, the run folder (ownership, lock,
``config.json``, ``metrics.jsonl``) and the PNG outputs (sample grids and plots)."""

"""``train.tensorboard=true``: TensorBoard event files in ``RUN_DIR/tensorboard/``, so that
``tensorboard --logdir runs/`` shows every run.

Written through ``torch.utils.tensorboard`` (the ``tensorboard`` package is an optional extra):
each step's losses under ``train/`` and its steps/s under ``speed/``, every evaluation's scores under
``quality/``, the sample grid at each ``train.sample_every`` under ``samples``, and the resolved
configuration as text under ``config``.

A resumed run appends to the same TensorBoard run: the writer starts with ``purge_step`` = the
checkpoint's step + 1, which tells TensorBoard to drop what a killed process had logged past the
checkpoint, so every step shows once and in order. Events up to a checkpoint are flushed before the
checkpoint is written, so none that a resume keeps can be lost with the killed process.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Any

from ganzoo.errors import ConfigError

FOLDER = "tensorboard"
INSTALL = "pip install 'ganzoo[tensorboard]'"
_EVENTS = re.compile(r"^events\.out\.tfevents\.(\d+)\.")


def summary_writer() -> type:
    """``torch.utils.tensorboard.SummaryWriter``, or a ConfigError naming the install command."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise ConfigError(
            f"train.tensorboard=true needs the tensorboard package, which is not installed here ({exc}). Install it with: "
            f"{INSTALL} (or pip install tensorboard), then run the same command again; or leave train.tensorboard=false. "
            "Nothing was trained."
        ) from None
    return SummaryWriter


class TensorBoardLog:
    """The event files of one training process; ``first_step`` is the first step it will log."""

    def __init__(self, run_dir: Path, first_step: int, elapsed: float, config: dict[str, Any]):
        writer_class = summary_writer()  # first: a missing package fails before anything is written
        self.path = run_dir / FOLDER
        self.path.mkdir(exist_ok=True)
        _after_existing_files(self.path)
        self.writer = writer_class(log_dir=str(self.path), purge_step=first_step, flush_secs=10)
        text = "\n".join("    " + line for line in json.dumps(config, indent=2).splitlines())  # a Markdown code block
        self.writer.add_text("config", text, first_step)
        self._last = (first_step - 1, elapsed)  # (step, training seconds) of the previous step

    def step(self, record: dict[str, Any]) -> None:
        """One ``metrics.jsonl`` line: its numbers under ``train/``, and steps/s since the previous step."""
        step = record["step"]
        for key, value in record.items():
            if key not in ("step", "time") and _number(value):
                self.writer.add_scalar(f"train/{key}", value, step)
        if _number(record.get("time")):
            seconds = record["time"] - self._last[1]
            if seconds > 0:
                self.writer.add_scalar("speed/steps_per_s", (step - self._last[0]) / seconds, step)
            self._last = (step, record["time"])

    def quality(self, step: int, score: dict[str, Any]) -> None:
        for key, value in score.items():
            if key != "n" and _number(value):
                self.writer.add_scalar(f"quality/{key}", value, step)

    def image(self, step: int, png: Path) -> None:
        """The sample grid as written to ``samples/step-N.png``."""
        import numpy as np
        from PIL import Image

        with Image.open(png) as img:
            pixels = np.asarray(img.convert("RGB"))  # (H, W, 3) uint8
        self.writer.add_image("samples", pixels, step, dataformats="HWC")

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def _after_existing_files(folder: Path, limit: float = 3.0) -> None:
    """TensorBoard reads a run's event files in name order, and names start with the second they were
    made: wait (briefly) until this process's file sorts after every earlier one."""
    stamps = [int(m.group(1)) for f in folder.iterdir() if (m := _EVENTS.match(f.name))]
    wait = max(stamps, default=0) + 1 - time.time()
    if 0 < wait <= limit:
        time.sleep(wait)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

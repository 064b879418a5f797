"""Launched by tests/test_distributed.py under torchrun (and called in-process for the 1-process reference).

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/dist_worker.py OUT CASES.json

Trains each case of CASES.json ({name: [overrides]}) in OUT/NAME and writes every rank's final
weights to OUT/NAME-rankR.safetensors (a test artefact: the engine itself writes on rank 0 only).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from safetensors.torch import save_file

from ganzoo import distributed
from ganzoo.config import resolve
from ganzoo.plugins import PluginHost
from ganzoo.train import Trainer


def train_and_dump(host: PluginHost, overrides: list[str], run_dir: Path, dump: Path) -> None:
    cfg = resolve([*overrides, f"out={run_dir}"], host)
    trainer = Trainer(cfg, host, run_dir)
    if distributed.is_writer():
        run_dir.mkdir(parents=True, exist_ok=True)
    trainer.fit()
    tensors = {f"{p}/{k}": v.detach().cpu().contiguous() for p, m in trainer._modules() for k, v in m.state_dict().items()}
    save_file(tensors, str(dump))


def main(out: str, cases_file: str) -> None:
    cases = json.loads(Path(cases_file).read_text())
    host = PluginHost(entry_points=[])
    for name, overrides in cases.items():
        train_and_dump(host, overrides, Path(out) / name, Path(out) / f"{name}-rank{distributed.rank()}.safetensors")
    distributed.close()


if __name__ == "__main__":
    main(*sys.argv[1:])

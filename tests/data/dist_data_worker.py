"""Launched by tests/data/test_data_scale.py under torchrun: each rank runs the training data path on a streamed image
folder and records what it took and what its DataLoader worker decoded.

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/data/dist_data_worker.py ROOT OUT STEPS

Writes OUT/rank{R}.json ({"labels": [...], "images": [...]} of every batch the rank took) and
OUT/read-rank{R}.jsonl (the indices of every batch its worker process decoded, one line each).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

from ganzoo.data.stream import FileImages
from ganzoo.registry.host import PluginHost
from ganzoo.training import distributed
from ganzoo.training.batches import Batches

_DECODE = FileImages.__getitem__


def main(root: str, out: str, steps: int) -> None:
    rank = int(os.environ["RANK"])
    log = Path(out) / f"read-rank{rank}.jsonl"

    def recording(self, indices):  # runs in the rank's worker process (forked, so it sees this patch)
        with open(log, "a") as f:
            f.write(json.dumps(torch.as_tensor(indices).tolist()) + "\n")
        return _DECODE(self, indices)

    FileImages.__getitem__ = recording
    device = distributed.init(torch.device("cpu"))
    cls = PluginHost(entry_points=[]).get("dataset", "imagefolder")
    data = (
        cls(cls.Config(root=root, size=8, max_memory="1KB", workers=1, cache=False)).load().replace(flip=True)
    )  # as load_data applies data.flip
    assert data.streamed
    batches = Batches(data, 8, device, seed=0)
    taken = {"labels": [], "images": []}
    for _ in range(steps):
        x, y = batches.next()
        taken["labels"].append(y.tolist())
        taken["images"].append(x.tolist())
    batches.close()
    (Path(out) / f"rank{rank}.json").write_text(json.dumps(taken))
    distributed.close(True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))

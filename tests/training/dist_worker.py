"""Launched by tests/training/test_distributed.py under torchrun (and called in-process for the 1-process reference).

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/training/dist_worker.py OUT CASES.json

Trains each case of CASES.json ({name: [overrides]}) in OUT/NAME and writes every rank's final
weights to OUT/NAME-rankR.safetensors (a test artefact: the engine itself writes on rank 0 only),
together with each parameter's last gradient (``grad:critic/...`` from the last critic step,
``grad:generator/...`` from the generator step), which is the gradient after averaging over ranks.

A case named ``NAME@BUG`` trains with a bug injected on purpose, so the tests can show that their
comparison catches it (:data:`BUGS`).
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

from safetensors.torch import save_file

from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost
from ganzoo.runs.recorder import RunRecorder
from ganzoo import ranks
from ganzoo.training import distributed, state
from ganzoo.training.loop import Trainer


def _sum_instead_of_mean(module):
    """Gradient averaging with a wrong factor: the sum over ranks instead of the mean."""
    real = _REAL_AVERAGE
    real(module)
    for p in module.parameters():
        if p.grad is not None:
            p.grad.mul_(ranks.world())


_REAL_AVERAGE = distributed.average_gradients


@contextmanager
def injected(bug: str | None, trainer: Trainer):
    """Install one of :data:`BUGS` for the duration of a run."""
    if bug is None:
        yield
        return
    if bug == "grad_sum":
        distributed.average_gradients = _sum_instead_of_mean
        try:
            yield
        finally:
            distributed.average_gradients = _REAL_AVERAGE
        return
    if bug == "rank1_skips_penalty":
        if ranks.rank() == 1:
            trainer.steps.constraint.penalty = lambda *args, **kwargs: None
        yield
        return
    raise ValueError(f"unknown bug {bug!r}; known: {', '.join(BUGS)}")


BUGS = ("grad_sum", "rank1_skips_penalty")


def train_and_dump(host: PluginHost, overrides: list[str], run_dir: Path, dump: Path, bug: str | None = None) -> None:
    cfg = resolve([*overrides, f"out={run_dir}"], host)
    trainer = Trainer(cfg, host)
    recorder = None
    if ranks.is_writer():  # as `ganzoo run` does: rank 0 alone writes the run folder
        run_dir.mkdir(parents=True, exist_ok=True)
        recorder = RunRecorder(run_dir, trainer)
    with injected(bug, trainer):
        trainer.fit(recorder)
    if recorder is not None:
        recorder.close()
    tensors = {f"{p}/{k}": v.detach().cpu().contiguous() for p, m in state.modules(trainer) for k, v in m.state_dict().items()}
    for prefix, module in (("critic", trainer.critic), ("generator", trainer.generator)):
        for k, p in module.named_parameters():
            if p.grad is not None:
                tensors[f"grad:{prefix}/{k}"] = p.grad.detach().cpu().contiguous()
    save_file(tensors, str(dump))


def main(out: str, cases_file: str) -> None:
    cases = json.loads(Path(cases_file).read_text())
    host = PluginHost(entry_points=[])
    for name, overrides in cases.items():
        bug = name.partition("@")[2] or None
        train_and_dump(host, overrides, Path(out) / name, Path(out) / f"{name}-rank{ranks.rank()}.safetensors", bug=bug)
    distributed.close(finished=True)


if __name__ == "__main__":
    main(*sys.argv[1:])

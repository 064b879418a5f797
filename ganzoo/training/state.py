"""What a checkpoint holds of a trainer, and putting it back: the whole state that makes a resumed run
continue bit for bit (on the same machine and thread count).

Tensors (safetensors): every network's ``state_dict`` under ``critic/``, ``generator/`` and, with EMA,
``generator_ema/``; each optimiser's per-parameter state under ``opt_d/IDX/`` and ``opt_g/IDX/``; the
data order ``data/perm``. JSON: counters, the data position, training time, optimiser
hyperparameters, the RNG states (base64) and fp16 scaler state. The data state is the same whether
the images are held in memory or streamed from disk (:class:`~ganzoo.training.batches.Batches`).
The header records what rebuilds the networks from names alone: the resolved config, plugin
versions and data sizes.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import torch

from ganzoo import ranks
from ganzoo.version import __version__

if TYPE_CHECKING:
    from ganzoo.training.loop import Trainer

OPTIMIZERS = (("opt_d", "critic_update"), ("opt_g", "generator_update"))


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.numpy().tobytes()).decode()


def _unb64(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8)


def modules(trainer: "Trainer") -> list[tuple[str, torch.nn.Module]]:
    """Checkpoint key prefixes and the modules they hold (``generator_ema`` when EMA is on)."""
    out = [("critic", trainer.critic), ("generator", trainer.generator)]
    return out + ([("generator_ema", trainer.ema.module)] if trainer.ema is not None else [])


def _optimizers(trainer: "Trainer") -> list[tuple[str, torch.optim.Optimizer]]:
    return [(prefix, getattr(trainer.steps, update).optimizer) for prefix, update in OPTIMIZERS]


def header(trainer: "Trainer") -> dict[str, Any]:
    """What rebuilds the run's networks from names: resolved config, plugin versions, data sizes."""
    spec = trainer.spec
    return {
        "config": trainer.cfg.to_dict(),
        "plugins": trainer.host.versions(),
        "data": {"channels": spec.channels, "size": spec.size, "num_classes": spec.num_classes},
        "ganzoo": __version__,
    }


def capture(trainer: "Trainer") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, state) of a trainer between two generator steps."""
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in modules(trainer):
        tensors.update({f"{prefix}/{k}": v for k, v in module.state_dict().items()})
    groups = {}
    for prefix, opt in _optimizers(trainer):
        sd = opt.state_dict()
        for idx, st in sd["state"].items():
            tensors.update({f"{prefix}/{idx}/{k}": v for k, v in st.items()})
        groups[prefix] = sd["param_groups"]
    batches = trainer.steps.batches
    tensors["data/perm"] = batches.perm
    rng = {"torch": _b64(torch.get_rng_state()), "data": _b64(batches.rng.get_state())}
    if trainer.device.type == "cuda":
        rng["cuda"] = _b64(torch.cuda.get_rng_state(trainer.device))
    state = {
        "step": trainer.step,
        "world_size": ranks.world(),
        "critic_steps": trainer.steps.critic_steps,
        "data_pos": batches.pos,
        "elapsed": trainer.total_time(),
        "optimizers": groups,
        "rng": rng,
        "scalers": trainer.precision.state_dict(),
    }
    return tensors, state


def _layout_like_params(opt: torch.optim.Optimizer) -> None:
    """Give each loaded state tensor its parameter's memory layout. A checkpoint holds contiguous
    tensors, and torch's fused Adam reads a state tensor in its parameter's layout: with a
    channels-last parameter and a contiguous ``exp_avg`` it would pair the wrong elements (the
    resume tests caught this)."""
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state.get(p, {})
            for k, v in st.items():
                if isinstance(v, torch.Tensor) and v.shape == p.shape and v.stride() != p.stride():
                    st[k] = torch.empty_like(p, dtype=v.dtype).copy_(v)  # (same values, p's strides)


def restore(trainer: "Trainer", tensors: dict[str, torch.Tensor], state: dict[str, Any]) -> None:
    """Put back what :func:`capture` took. Raises KeyError, ValueError or RuntimeError when it does not fit."""
    for prefix, module in modules(trainer):
        module.load_state_dict({k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + "/")})
    for prefix, opt in _optimizers(trainer):
        per_param: dict[int, dict[str, torch.Tensor]] = {}
        for k, v in tensors.items():
            if k.startswith(prefix + "/"):
                _, idx, key = k.split("/", 2)
                per_param.setdefault(int(idx), {})[key] = v
        opt.load_state_dict({"state": per_param, "param_groups": state["optimizers"][prefix]})
        _layout_like_params(opt)
    trainer.steps.batches.load_state(tensors["data/perm"], int(state["data_pos"]), _unb64(state["rng"]["data"]))  # streamed or not
    torch.set_rng_state(_unb64(state["rng"]["torch"]))
    if "cuda" in state["rng"] and trainer.device.type == "cuda":
        torch.cuda.set_rng_state(_unb64(state["rng"]["cuda"]), trainer.device)
    trainer.step, trainer.steps.critic_steps = int(state["step"]), int(state["critic_steps"])
    trainer.precision.load_state_dict(state.get("scalers", {}))
    trainer.elapsed = float(state.get("elapsed", 0.0))

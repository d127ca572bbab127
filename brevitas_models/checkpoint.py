"""Checkpoints: the config and the weights of one network in one file.

Two forms of the same format: a training checkpoint holds float latent weights (and, from
train.py, the optimizer and schedule to resume), a compact one (compact=True, what is
shipped) stores each binary conv's weights as sign bits plus its scale mean(|W|), 1/32 of
their float size: all that the binary network (and the hardware) uses of them.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import ConfigError
from .files import write_atomic
from .config import HGConfig
from .config import get_preset
from .hourglass import BinaryHourglassNet
from .hourglass import build_model
from .layers import BinaryConvUnit

FORMAT = "binhg-checkpoint/1"
# The trained networks shipped with the project (compact form), one per preset name.
PRETRAINED_DIR = Path(__file__).resolve().parent / "checkpoints"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message names the file and what is wrong."""


def _binary_weight_keys(model: BinaryHourglassNet) -> list[str]:
    if model.cfg.weights != "binary":
        return []
    return [f"{name}.conv.weight" for name, m in model.named_modules()
            if isinstance(m, BinaryConvUnit)]


def _pack(state: dict, keys: list[str]) -> dict:
    """Binary weights -> {key: {"bits": uint8 sign bits (1 = +1), "alpha": mean |W|}}:
    all the quantizer sign(W) * mean(|W|) keeps of them (sign(0) = +1, as Brevitas)."""
    packed = {}
    for k in keys:
        w = state.pop(k)
        packed[k] = {"bits": torch.from_numpy(np.packbits((w >= 0).numpy().ravel())),
                     "alpha": w.abs().mean().reshape(1)}
    return packed


def _unpack(packed: dict, model: BinaryHourglassNet, where: str) -> dict:
    shapes = dict(model.state_dict().items())
    state = {}
    for k, v in packed.items():
        if k not in shapes or not isinstance(v, dict) or set(v) != {"bits", "alpha"}:
            raise CheckpointError(f"{where}: packed weight '{k}' does not fit model "
                                  f"'{model.cfg.name}'")
        shape, n = shapes[k].shape, shapes[k].numel()
        if v["bits"].numel() != (n + 7) // 8:
            raise CheckpointError(f"{where}: packed weight '{k}' holds {8 * v['bits'].numel()} "
                                  f"bits, the model needs {n}")
        bits = np.unpackbits(v["bits"].numpy(), count=n)
        sign = torch.from_numpy(bits.astype(np.float32) * 2 - 1).reshape(shape)
        state[k] = sign * v["alpha"].float()
    return state


def _stats_collectors(model: nn.Module) -> dict[str, nn.Module]:
    """Brevitas' learned activation scales that initialise themselves from the statistics
    of their first training steps (ParameterFromRuntimeStatsScaling): their step counter
    and running statistics are not in the state dict, but a resumed run needs them."""
    return {name: m for name, m in model.named_modules()
            if hasattr(m, "collect_stats_steps") and hasattr(m, "counter")
            and isinstance(getattr(m, "buffer", None), torch.Tensor)}


def training_extras(model: nn.Module) -> dict:
    """What a training checkpoint needs beyond the state dict to resume bit-identically."""
    return {"stats_collection": {name: {"counter": torch.tensor(m.counter),
                                        "buffer": m.buffer.detach().clone()}
                                 for name, m in _stats_collectors(model).items()}}


def save_checkpoint(model: BinaryHourglassNet, path: str | os.PathLike, *,
                    compact: bool = False, **extra) -> Path:
    """Write atomically: a crash never leaves a truncated file under the final name.

    compact: binary weights as bits (see the module docstring); `extra` fields are stored
    as they are (train.py: epoch, history, optimizer and scheduler state, ...)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    packed = _pack(state, _binary_weight_keys(model)) if compact else {}
    payload = {"format": FORMAT, "config": model.cfg.to_dict(), "state_dict": state,
               "packed_weights": packed, **extra}
    return write_atomic(path, lambda tmp: torch.save(payload, tmp))


def pretrained_checkpoint(preset: str) -> Path | None:
    """The shipped trained checkpoint of a preset, or None if the project has none."""
    path = PRETRAINED_DIR / f"{preset}.pt"
    return path if path.is_file() else None


def load_preset(name: str, trained: bool = True) -> tuple[BinaryHourglassNet, HGConfig, str]:
    """A preset's network in eval mode, its config and where its weights come from: the
    shipped trained checkpoint, or (if there is none, or trained=False) the untrained
    initialisation under torch seed 0. flow/build.py builds exactly this."""
    cfg = get_preset(name)
    shipped = pretrained_checkpoint(name)
    if shipped is not None and trained:
        model, shipped_cfg = load_checkpoint(shipped)
        if shipped_cfg != cfg:
            raise CheckpointError(f"checkpoint '{shipped}' holds {shipped_cfg}, not the "
                                  f"preset {cfg}")
        return model, cfg, f"trained checkpoint brevitas_models/checkpoints/{shipped.name}"
    torch.manual_seed(0)
    why = "" if not trained else "; the project ships no trained checkpoint for it"
    return build_model(cfg).eval(), cfg, f"untrained (preset, torch seed 0{why})"


def load_checkpoint(path: str | os.PathLike) -> tuple[BinaryHourglassNet, HGConfig]:
    """The network of a checkpoint (either form), in eval mode, and its config."""
    model, cfg, _ = _load(path)
    return model, cfg


def load_training_state(path: str | os.PathLike, model: BinaryHourglassNet,
                        optimizer: torch.optim.Optimizer, scheduler) -> dict:
    """Restore a training checkpoint of train.py into `model`, `optimizer` and `scheduler`
    (in place) and return its payload (epoch, history, train_args, ...)."""
    loaded, cfg, payload = _load(path)
    if cfg != model.cfg:
        raise CheckpointError(f"checkpoint '{path}' holds model {cfg}, not {model.cfg}")
    for key in ("epoch", "history", "train_args", "optimizer", "scheduler"):
        if key not in payload:
            raise CheckpointError(f"checkpoint '{path}': not a training checkpoint (no "
                                  f"'{key}'), so it cannot be resumed")
    model.load_state_dict(loaded.state_dict())
    collectors = _stats_collectors(model)
    for name, st in payload.get("stats_collection", {}).items():
        if name not in collectors:
            raise CheckpointError(f"checkpoint '{path}': unknown statistics collector '{name}'")
        collectors[name].counter = int(st["counter"])
        collectors[name].buffer.copy_(st["buffer"])
    try:
        optimizer.load_state_dict(payload["optimizer"])
        scheduler.load_state_dict(payload["scheduler"])
    except (ValueError, KeyError) as e:
        raise CheckpointError(f"checkpoint '{path}': optimizer state does not fit: {e}") from None
    return payload


def check_finite(state: dict, where: str) -> None:
    """Refuse NaN or infinite values in any tensor of a state dict, naming the tensor: a
    network with them trains, exports and even builds, and computes nothing."""
    for name, t in state.items():
        if isinstance(t, torch.Tensor) and t.is_floating_point():
            bad = ~torch.isfinite(t)
            if bad.any():
                kinds = [w for w, m in (("NaN", torch.isnan(t)), ("infinite", torch.isinf(t)))
                         if m.any()]
                raise CheckpointError(
                    f"{where}: tensor '{name}' holds {int(bad.sum())} {' and '.join(kinds)} "
                    f"value(s) of {t.numel()}: the weights are not finite (did training "
                    "diverge?)")


def _load(path) -> tuple[BinaryHourglassNet, HGConfig, dict]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}': no such file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any file: a text file fails deep in the unpickler
        # torch's own message runs to paragraphs and suggests weights_only=False, which
        # would execute arbitrary pickled code: name the failure only.
        raise CheckpointError(f"checkpoint '{path}': not a readable PyTorch file "
                              f"(corrupt or truncated, or not a checkpoint at all): "
                              f"{type(e).__name__}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint '{path}': not a {FORMAT} file "
                              "(missing or wrong 'format' field)")
    for key in ("config", "state_dict"):
        if key not in payload:
            raise CheckpointError(f"checkpoint '{path}': missing field '{key}'")
    try:
        cfg = HGConfig.from_dict(payload["config"])
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"checkpoint '{path}': bad 'config': {e}") from None
    model = build_model(cfg)
    if not isinstance(payload["state_dict"], dict) or not isinstance(
            payload.get("packed_weights", {}), dict):
        raise CheckpointError(f"checkpoint '{path}': 'state_dict' and 'packed_weights' must "
                              "be mappings of tensor names to tensors")
    state = dict(payload["state_dict"])
    state.update(_unpack(payload.get("packed_weights", {}), model, f"checkpoint '{path}'"))
    check_finite(state, f"checkpoint '{path}'")
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise CheckpointError(f"checkpoint '{path}': weights do not fit model '{cfg.name}': "
                              f"{' '.join(first[:3])}") from None
    # Brevitas creates a learned activation scale only once its statistics are collected, so
    # a never-trained model legitimately lacks those keys; anything else missing is an error.
    missing = [k for k in result.missing_keys if not k.endswith(".scaling_impl.value")]
    if missing or result.unexpected_keys:
        raise CheckpointError(f"checkpoint '{path}': weights do not fit model '{cfg.name}': "
                              f"missing {missing[:3]}, unexpected {result.unexpected_keys[:3]}")
    model.eval()
    return model, cfg, payload

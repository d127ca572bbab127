"""Checkpoints: the config and the weights of one network in one file."""
from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch
from torch import nn

from .config import ConfigError
from .config import HGConfig
from .hourglass import BinaryHourglassNet
from .hourglass import build_model

FORMAT = "binhg-checkpoint/1"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message names the file and what is wrong."""


def save_checkpoint(model: BinaryHourglassNet, path: str | os.PathLike, **extra) -> Path:
    """Write atomically: a crash never leaves a truncated file under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "config": model.cfg.to_dict(),
               "state_dict": model.state_dict(), **extra}
    fd, tmp = tempfile.mkstemp(suffix=".pt", dir=path.parent)
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[BinaryHourglassNet, HGConfig]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}': no such file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError) as e:
        raise CheckpointError(f"checkpoint '{path}': not a readable PyTorch file "
                              f"(corrupt or truncated?): {e}") from None
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
    try:
        result = model.load_state_dict(payload["state_dict"], strict=False)
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
    return model, cfg

"""Landmark decoding and accuracy metrics (vectorised; torch tensors or numpy arrays).

All coordinates are (x, y) in heatmap pixels, the pixel centre at integers (as data.py).

Normalization: PCK and NME divide each error by a per-sample length `norm`. For the stick
figures we use the larger side of the 16-joint bounding box (`norm` of a data item),
the "PCK@alpha of max(h, w)" of Yang & Ramanan (default alpha = 0.2), rather than the head
size of PCKh: the head segment is ~1/8 of the body, i.e. under one heatmap pixel at the
tiny presets, so PCKh would mostly measure the stride-4 quantization of the heatmaps.
"""
from __future__ import annotations

import numpy as np
import torch

from . import landmarks

DEFAULT_PCK_THR = 0.2


def _as_tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)


def decode_heatmaps(h):
    """[B, N, H, W] heatmaps -> [B, N, 2] (x, y): argmax + 1/4 pixel towards the larger
    neighbour (brevitas_models/landmarks.py, the decoder the board driver uses too). Same
    array type as the input."""
    if isinstance(h, torch.Tensor):
        return torch.from_numpy(landmarks.decode_heatmaps(h.detach().float().cpu().numpy()))
    return landmarks.decode_heatmaps(h)


def _normalized_errors(pred, gt, norm, visible):
    pred, gt = _as_tensor(pred).float(), _as_tensor(gt).float()
    err = (pred - gt).norm(dim=-1) / _as_tensor(norm).float().reshape(-1, 1)   # [B, N]
    vis = (torch.ones_like(err, dtype=torch.bool) if visible is None
           else _as_tensor(visible).bool())
    return err, vis


def pck(pred, gt, norm, thr: float = DEFAULT_PCK_THR, visible=None):
    """Percentage of correct keypoints: error <= thr * norm.

    pred, gt [B, N, 2]; norm [B]; visible [B, N] bool (default all). Returns
    (per_landmark float64 [N] numpy, nan for a landmark never visible; mean float over
    all visible (sample, landmark) pairs, as the MPII total).
    """
    err, vis = _normalized_errors(pred, gt, norm, visible)
    correct = (err <= thr) & vis
    per = correct.sum(0).double() / vis.sum(0).double()     # 0/0 -> nan
    mean = correct.sum().item() / max(vis.sum().item(), 1)
    return per.numpy(), float(mean)


def nme(pred, gt, norm, visible=None) -> float:
    """Normalized mean error: mean over visible (sample, landmark) pairs of |pred-gt|/norm."""
    err, vis = _normalized_errors(pred, gt, norm, visible)
    return float(err[vis].mean()) if vis.any() else float("nan")

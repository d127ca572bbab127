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


# ---------------------------------------------------------------------------------------
# The papers' protocols (photos.py's formats): MPII's PCKh table, 300-W's NME / AUC /
# failure rate. Same arguments as pck(): [B, N, 2] predictions and truth, [B] norms, [B, N]
# visibility; `names`: the landmark names of the N columns.
# ---------------------------------------------------------------------------------------

PCKH_THR = 0.5
FACE_AUC_LIMIT = 0.08


def pckh_table(pred, gt, norm, visible, names, parts, thr: float = PCKH_THR) -> dict:
    """PCKh per body part (`parts`: (part, joint names) pairs, MPII's table) and "total",
    over every part's joints (MPII leaves the pelvis and thorax out of the total). A part
    whose joints the network does not predict, or never visible, is None."""
    err, vis = _normalized_errors(pred, gt, norm, visible)
    correct = ((err <= thr) & vis).numpy()
    vis = vis.numpy()
    col = {n: j for j, n in enumerate(names)}
    table, every = {}, []
    for part, joints in parts:
        cols = [col[n] for n in joints if n in col]
        every += cols
        seen = vis[:, cols].sum() if cols else 0
        table[part] = round(float(correct[:, cols].sum() / seen), 5) if seen else None
    seen = vis[:, every].sum()
    table["total"] = round(float(correct[:, every].sum() / seen), 5) if seen else None
    return table


def per_sample_nme(pred, gt, norm, visible) -> np.ndarray:
    """[B] mean of |pred - gt| / norm over each sample's visible landmarks (nan if none)."""
    err, vis = _normalized_errors(pred, gt, norm, visible)
    err, vis = err.double().numpy(), vis.numpy()
    with np.errstate(invalid="ignore"):
        return (err * vis).sum(1) / vis.sum(1)


def box_diagonal(gt, visible) -> np.ndarray:
    """[B] diagonal of the bounding box of each sample's visible true landmarks."""
    g, v = np.asarray(_as_tensor(gt).float()), np.asarray(_as_tensor(visible).bool())
    lo = np.where(v[..., None], g, np.inf).min(1)
    hi = np.where(v[..., None], g, -np.inf).max(1)
    return np.linalg.norm(hi - lo, axis=-1)


def ced_auc(errors, limit: float = FACE_AUC_LIMIT, steps: int = 81) -> dict:
    """The cumulative error distribution of per-sample errors up to `limit`: its normalised
    area (AUC@limit), the failure rate (share of samples with error > limit) and the
    curve."""
    e = np.asarray(errors, dtype=np.float64)
    e = e[np.isfinite(e)]
    t = np.linspace(0.0, limit, steps)
    ced = np.array([(e <= x).mean() if len(e) else np.nan for x in t])
    auc = float(((ced[1:] + ced[:-1]) / 2 * np.diff(t)).sum() / limit)
    return {"auc": auc, "failure_rate": float((e > limit).mean()) if len(e) else float("nan"),
            "thresholds": t, "ced": ced}

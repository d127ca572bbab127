"""Procedural stick-figure data, landmark metrics and the training loop."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from brevitas_models.checkpoint import load_checkpoint
from brevitas_models.config import get_preset
from brevitas_models.data import BONES
from brevitas_models.data import JOINT_NAMES
from brevitas_models.data import StickFigureDataset
from brevitas_models.data import augment_joints
from brevitas_models.metrics import decode_heatmaps
from brevitas_models.metrics import nme
from brevitas_models.metrics import pck
from brevitas_models.train import main as train_main
from brevitas_models.train import train

J = {n: i for i, n in enumerate(JOINT_NAMES)}
# extremity -> (the bone ending there, whose colour its pixel shows; the other side's bone)
END_BONE = {"r-wrist": ("r-forearm", "l-forearm"), "l-wrist": ("l-forearm", "r-forearm"),
            "r-ankle": ("r-shin", "l-shin"), "l-ankle": ("l-shin", "r-shin")}


def _digest(item) -> str:
    return hashlib.sha1(item["image"].numpy().tobytes()).hexdigest()


def _pixel(item, joint: str) -> tuple[int, ...] | None:
    """RGB (0..255) of the image pixel nearest to a joint; None if not visible."""
    if not item["visible"][J[joint]]:
        return None
    x, y = np.rint(item["joints"][J[joint]].numpy() * 4 + 1.5).astype(int)
    return tuple(np.rint(item["image"][:, y, x].numpy() * 255).astype(int))


def test_items_shapes_ranges_and_determinism():
    ds = StickFigureDataset(32, 5, "train", 10)
    it = ds[3]
    assert it["image"].shape == (3, 32, 32) and it["image"].dtype == torch.float32
    assert it["heatmaps"].shape == (5, 8, 8) and it["joints"].shape == (5, 2)
    assert it["visible"].dtype == torch.bool
    img = it["image"]
    assert 0 <= img.min() and img.max() <= 1
    assert torch.equal(torch.round(img * 255) / 255, img)  # a uint8 image
    assert 0 <= it["heatmaps"].min() and it["heatmaps"].max() <= 1
    assert ds.joint_names == ("r-ankle", "l-ankle", "head-top", "r-wrist", "l-wrist")
    # Item i is the same sample on every access and in every instance.
    again = StickFigureDataset(32, 5, "train", 10)[3]
    for k in it:
        assert torch.equal(it[k], again[k]), k
    assert _digest(ds[4]) != _digest(it)


def test_augmentation_is_per_epoch_and_reproducible():
    ds = StickFigureDataset(32, 16, "train", 4, augment=True)
    a = ds[0]
    ds.set_epoch(1)
    b = ds[0]
    ds.set_epoch(0)
    assert torch.equal(ds[0]["image"], a["image"])
    assert not torch.equal(a["joints"], b["joints"])


def test_splits_are_disjoint():
    hashes = {s: {_digest(it) for it in StickFigureDataset(32, 5, s, 50)}
              for s in ("train", "val", "test")}
    assert all(len(h) == 50 for h in hashes.values())
    assert not hashes["train"] & hashes["val"]
    assert not hashes["train"] & hashes["test"]
    assert not hashes["val"] & hashes["test"]


def test_heatmap_peaks_at_labelled_joint():
    ds = StickFigureDataset(64, 16, "val", 20, sigma=1.0)
    checked = 0
    for it in ds:
        h, joints, vis = it["heatmaps"], it["joints"], it["visible"]
        for n in range(16):
            x, y = np.rint(joints[n].numpy()).astype(int)
            if not vis[n] or not (0 <= x < 16 and 0 <= y < 16):
                continue  # outside, or in the outer half pixel of the heatmap
            assert h[n].argmax().item() == y * 16 + x
            # sub-pixel exact: the peak value is the Gaussian at the rounding offset
            d2 = float(((joints[n] - torch.tensor([x, y])) ** 2).sum())
            assert h[n, y, x].item() == pytest.approx(np.exp(-d2 / 2), abs=1e-6)
            checked += 1
        assert (h[~vis] == 0).all()  # no target for joints outside the image
    assert checked > 250


def test_flip_swaps_left_and_right():
    joints = np.random.default_rng(0).uniform(0, 63, (16, 2))
    flipped = augment_joints(joints, 64, angle=0.0, zoom=1.0, flip=True)
    for side, other in (("r", "l"), ("l", "r")):
        for part in ("ankle", "knee", "hip", "shoulder", "elbow", "wrist"):
            a, b = flipped[J[f"{side}-{part}"]], joints[J[f"{other}-{part}"]]
            assert a[0] == pytest.approx(63 - b[0]) and a[1] == pytest.approx(b[1])
    for mid in ("pelvis", "thorax", "upper-neck", "head-top"):
        assert flipped[J[mid]][0] == pytest.approx(63 - joints[J[mid]][0])
    # Flipping twice is the identity.
    assert np.allclose(augment_joints(flipped, 64, 0.0, 1.0, True), joints)


def test_flipped_sample_is_the_mirror_of_the_unflipped_one():
    plain = StickFigureDataset(64, 16, "val", 10)
    flip = StickFigureDataset(64, 16, "val", 10, augment=True)
    flip.augmentation = lambda index: (0.0, 1.0, True)  # force a pure flip
    for i in range(10):
        a, b = plain[i], flip[i]
        # heatmap coordinates mirror as x -> 15 - x, with the sides swapped
        for side, other in (("r", "l"), ("l", "r")):
            ja, jb = a["joints"][J[f"{other}-wrist"]], b["joints"][J[f"{side}-wrist"]]
            assert jb[0].item() == pytest.approx(15 - ja[0].item(), abs=1e-5)
            assert jb[1].item() == pytest.approx(ja[1].item(), abs=1e-5)
        # the heatmaps follow: the flipped r-wrist map is the mirrored l-wrist map
        assert torch.allclose(b["heatmaps"][J["r-wrist"]],
                              a["heatmaps"][J["l-wrist"]].flip(-1), atol=1e-5)


@pytest.mark.parametrize("augment", [False, True])
def test_rendered_colours_agree_with_labels(augment):
    """At a labelled extremity the image shows the colour of that side's limb, also after
    rotation, scaling and flips; never the other side's (which a wrong swap would give)."""
    ds = StickFigureDataset(64, 16, "train", 60, augment=augment)
    right = wrong = total = 0
    for it in ds:
        for joint, (bone, other) in END_BONE.items():
            px = _pixel(it, joint)
            if px is None:
                continue
            total += 1
            right += px == BONES[bone][2]
            wrong += px == BONES[other][2]
    assert total > 150
    assert right / total > 0.9      # the rest is occlusion by another limb
    assert wrong / total < 0.05


def test_decode_heatmaps_argmax_and_quarter_offset():
    h = torch.zeros(2, 3, 8, 8)
    h[0, 0, 5, 3] = 1.0
    h[0, 0, 5, 4] = 0.5            # right neighbour higher -> +1/4 in x
    h[0, 1, 2, 6] = 1.0
    h[0, 1, 1, 6] = 0.3            # upper neighbour higher -> -1/4 in y
    h[0, 2, 0, 7] = 1.0            # corner: no shift
    h[1] = h[0].flip(-1)           # mirrored maps decode to mirrored points
    xy = decode_heatmaps(h)
    assert xy[0].tolist() == [[3.25, 5.0], [6.0, 1.75], [7.0, 0.0]]
    assert xy[1].tolist() == [[3.75, 5.0], [1.0, 1.75], [0.0, 0.0]]
    assert isinstance(decode_heatmaps(h.numpy()), np.ndarray)


def test_pck_and_nme_on_handmade_cases():
    gt = torch.tensor([[[1.0, 1.0], [5.0, 5.0]], [[2.0, 2.0], [7.0, 3.0]]])
    norm = torch.tensor([10.0, 20.0])
    per, mean = pck(gt, gt, norm)
    assert mean == 1.0 and per.tolist() == [1.0, 1.0]
    assert nme(gt, gt, norm) == 0.0
    far = gt + 100
    per, mean = pck(far, gt, norm)
    assert mean == 0.0 and per.tolist() == [0.0, 0.0]
    # Errors 3-4-5 = 5 px: within 0.2 * 20 is false, 0.2 * 10 too; at 0.5 * 10 inclusive.
    off = gt + torch.tensor([3.0, 4.0])
    assert pck(off, gt, norm, thr=0.2)[1] == 0.0
    assert pck(off, gt, norm, thr=0.5)[0].tolist() == [1.0, 1.0]
    assert nme(off, gt, norm) == pytest.approx((5 / 10 + 5 / 20) / 2)
    # Mixed, with an invisible landmark that must not count.
    pred = torch.stack([gt[0], far[1]])
    vis = torch.tensor([[True, False], [True, True]])
    per, mean = pck(pred, gt, norm, visible=vis)
    assert per.tolist() == [0.5, 0.0] and mean == pytest.approx(1 / 3)
    # numpy in, same answers
    assert pck(pred.numpy(), gt.numpy(), norm.numpy(), visible=vis.numpy())[1] == mean


def test_tiny_training_run_learns_and_checkpoints(tmp_path):
    cfg = get_preset("hg-hpm-tiny")
    out = tmp_path / "ckpt.pt"
    r = train(cfg, epochs=1, train_size=64, val_size=32, batch=16, lr=1e-3, seed=0, out=out,
              progress=False, log=None, threads=1)
    losses = r["step_losses"]
    assert len(losses) == 4 and all(np.isfinite(losses))
    assert losses[-1] < 0.9 * losses[0]
    assert 0.0 <= r["val_pck"] <= 1.0 and len(r["history"]) == 1
    model, loaded_cfg = load_checkpoint(out)
    assert loaded_cfg == cfg
    x = torch.rand(2, 3, 32, 32)
    trained = r["model"].eval()
    with torch.no_grad():
        assert torch.equal(model(x), trained(x))
    extra = torch.load(out, weights_only=True)
    assert extra["epoch"] == 1 and extra["val_pck"] == pytest.approx(r["val_pck"])


def test_cli_float_residual(tmp_path, capsys):
    out = tmp_path / "c.pt"
    assert train_main(["--res-bits", "none", "--epochs", "1", "--train-size", "32",
                       "--val-size", "16", "--batch", "16", "--out", str(out), "--no-progress",
                       "--threads", "1"]) == 0
    assert "val PCK@0.2" in capsys.readouterr().out
    assert load_checkpoint(out)[1].res_bits is None


def test_cli_inconsistent_config_names_the_field(capsys):
    assert train_main(["--preset", "hg-hpm-tiny", "--input-size", "30"]) == 2
    assert "field 'input_size' = 30" in capsys.readouterr().err

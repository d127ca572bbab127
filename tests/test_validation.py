"""Bad input refused up front, by name, with what to do, before any long step writes
anything: the build's options, checkpoints (unreadable, not finite, names that would be
paths, configs the hardware cannot build), and the training and evaluation command lines.
Each of these failed late or with a raw traceback before."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from brevitas_models import build_model
from brevitas_models import get_preset
from brevitas_models.checkpoint import CheckpointError
from brevitas_models.checkpoint import load_checkpoint
from brevitas_models.checkpoint import load_preset
from brevitas_models.checkpoint import save_checkpoint
from flow import build as build_cli

TINY = "hg-hpm-tiny"


def run_build(capsys, *args) -> tuple[int, str]:
    """flow/build.py in this process (these all stop before any step): exit code, output
    with line breaks undone."""
    try:
        code = build_cli.main(["--board", "pynq-z2", *args])
    except SystemExit as e:          # argparse
        code = e.code
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())


@pytest.fixture(scope="module")
def tiny_model():
    return load_preset(TINY)[0]


def checkpoint_with(tmp_path, file: str, change=None, **cfg_changes) -> Path:
    """A checkpoint of the tiny preset's trained network, with `change(model)` applied and
    its config changed by cfg_changes (bypassing HGConfig's checks, as a file could)."""
    model = load_preset(TINY)[0] if not cfg_changes else build_model(
        get_preset(TINY).replace(**{k: v for k, v in cfg_changes.items() if k != "name"}))
    if change:
        with torch.no_grad():
            change(model)
    path = tmp_path / file
    save_checkpoint(model, path)
    if "name" in cfg_changes:                 # a config no HGConfig would make
        payload = torch.load(path, weights_only=True)
        payload["config"]["name"] = cfg_changes["name"]
        torch.save(payload, path)
    return path


@pytest.mark.parametrize("fps", ["nan", "0", "-5", "inf", "-inf"])
def test_target_fps_must_be_finite_and_positive(capsys, tmp_path, fps):
    code, out = run_build(capsys, "--model", TINY, f"--target-fps={fps}", "--output",
                          str(tmp_path / "o"))
    assert code == 2 and "--target-fps" in out and "finite, positive" in out
    assert not (tmp_path / "o").exists()


def test_a_target_fps_beyond_one_pixel_per_cycle_is_refused_up_front(capsys, tmp_path):
    code, out = run_build(capsys, "--model", TINY, "--target-fps", "1e12", "--output",
                          str(tmp_path / "o"))
    assert code == 2 and "--target-fps 1e+12" in out and "at most 97,656 FPS" in out
    assert "Traceback" not in out and not (tmp_path / "o").exists()


@pytest.mark.parametrize("where,why", [("file", "is a file, not a folder"),
                                       ("/proc/binhg/out", "cannot create the folder"),
                                       ("/proc/self", "cannot write in it")])
def test_output_must_be_a_writable_folder(capsys, tmp_path, where, why):
    if where == "file":
        where = tmp_path / "a-file"
        where.write_text("x")
    code, out = run_build(capsys, "--model", TINY, "--output", str(where))
    assert code == 2 and f"--output {where}: {why}" in out and "Traceback" not in out


def test_a_text_file_is_not_a_checkpoint(capsys, tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("these are my notes, not a network\n")
    with pytest.raises(CheckpointError, match="notes.pt': not a readable PyTorch file"):
        load_checkpoint(text)
    code, out = run_build(capsys, "--checkpoint", str(text), "--output", str(tmp_path / "o"))
    assert code == 2 and "notes.pt': not a readable PyTorch file" in out
    from brevitas_models import evaluate
    from brevitas_models import export

    assert evaluate.main(["--checkpoint", str(text), "--out", str(tmp_path / "e")]) == 2
    assert export.main([TINY, "--checkpoint", str(text), "-o", str(tmp_path / "x.onnx")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert err.count("not a readable PyTorch file") == 2 and "Traceback" not in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "x.onnx").exists()


def test_a_nan_in_one_bn_bias_is_refused_by_tensor_name(capsys, tmp_path):
    def poison(m):
        bn = [mod for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm2d)][5]
        bn.bias[3] = float("nan")

    path = checkpoint_with(tmp_path, "nan.pt", poison)
    with pytest.raises(CheckpointError, match=r"tensor '[\w.]*bn\.bias' holds 1 NaN value\(s\)"):
        load_checkpoint(path)
    code, out = run_build(capsys, "--checkpoint", str(path), "--output", str(tmp_path / "o"))
    assert code == 2 and "bn.bias' holds 1 NaN" in out and not (tmp_path / "o").exists()


def test_all_nan_weights_are_refused_by_tensor_name(capsys, tmp_path):
    def poison(m):
        for p in m.parameters():
            p.fill_(float("inf"))

    path = checkpoint_with(tmp_path, "inf.pt", poison)
    code, out = run_build(capsys, "--checkpoint", str(path), "--output", str(tmp_path / "o"))
    assert code == 2 and "infinite value(s)" in out and "tensor '" in out
    assert "not finite" in out


def test_a_config_name_from_a_file_never_names_a_path(capsys, tmp_path):
    path = checkpoint_with(tmp_path, "escape.pt", name="../../escaped")
    out_dir = tmp_path / "a" / "b" / "o"
    code, out = run_build(capsys, "--checkpoint", str(path), "--output", str(out_dir))
    assert code == 2 and "field 'name' = '../../escaped'" in out and "plain name" in out
    assert not list(tmp_path.glob("**/*.onnx")) and not (tmp_path / "a").exists()


def test_residual_bits_beyond_what_lowers_are_refused_with_the_range(capsys, tmp_path):
    path = checkpoint_with(tmp_path, "rb12.pt", res_bits=12)
    code, out = run_build(capsys, "--checkpoint", str(path), "--output", str(tmp_path / "o"))
    assert code == 2 and "res_bits=12" in out and "2 to 8 bits" in out
    assert not (tmp_path / "o").exists()


def test_a_negative_prelu_slope_is_refused_naming_the_module(capsys, tmp_path):
    def flip(m):
        prelu = next(mod for mod in m.modules() if isinstance(mod, torch.nn.PReLU))
        prelu.weight[0] = -0.5

    path = checkpoint_with(tmp_path, "neg.pt", flip)
    code, out = run_build(capsys, "--checkpoint", str(path), "--output", str(tmp_path / "o"))
    assert code == 2 and "has negative slopes (channel(s) [0])" in out


def test_train_checks_its_options_and_files_before_the_first_epoch(capsys, tmp_path):
    from brevitas_models import train

    with pytest.raises(SystemExit) as e:
        train.main(["--batch", "0", "--out", str(tmp_path / "t.pt")])
    assert e.value.code == 2 and "--batch: must be a positive integer" in capsys.readouterr().err
    for args, msg in ((["--out", "/proc/binhg/t.pt"], "--out /proc/binhg: cannot create"),
                      (["--out", str(tmp_path)], "is a folder, not a file"),
                      (["--release", "/proc/self/r.pt"], "--release /proc/self: cannot write"),
                      (["--train-size", "10", "--batch", "32"], "smaller than one --batch")):
        assert train.main(["--epochs", "1", "--no-progress", *args]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert msg in err and "epoch" not in err.replace("--epochs", ""), err


def test_evaluate_checks_out_before_evaluating(capsys):
    from brevitas_models import evaluate

    assert evaluate.main(["--preset", TINY, "--out", "/proc/binhg/e", "--no-progress"]) == 2
    assert "--out /proc/binhg/e: cannot create the folder" in capsys.readouterr().err


def test_the_report_stays_json_when_a_figure_is_not_finite():
    report = {"status": "complete", "simulation": {"cycles_per_frame": float("nan")},
              "layers": [{"lut": 1.0}, {"lut": float("inf")}]}
    assert build_cli.non_finite(report) == ["simulation.cycles_per_frame", "layers[1].lut"]
    fixed = build_cli.replace_non_finite(report)
    json.dumps(fixed, allow_nan=False)
    assert fixed["simulation"]["cycles_per_frame"] is None and fixed["layers"][0]["lut"] == 1.0
    assert not math.isnan(fixed["layers"][0]["lut"])

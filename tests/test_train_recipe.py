"""The improved training recipe (003_...): each technique, resuming, compact checkpoints."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from brevitas_models.checkpoint import CheckpointError
from brevitas_models.checkpoint import load_checkpoint
from brevitas_models.checkpoint import save_checkpoint
from brevitas_models.config import ConfigError
from brevitas_models.config import get_preset
from brevitas_models.export import ExportError
from brevitas_models.export import export_qonnx
from brevitas_models.hourglass import build_model
from brevitas_models.layers import BinaryConvUnit
from brevitas_models.train import DistillationLoss
from brevitas_models.train import Progressive
from brevitas_models.train import Recipe
from brevitas_models.train import heatmap_loss
from brevitas_models.train import main as train_main
from brevitas_models.train import set_soft_sign
from brevitas_models.train import train
from brevitas_models.train import train_recipe

TINY = get_preset("hg-hpm-tiny")
FAST = dict(train_size=32, val_size=16, batch=16, lr=1e-3, seed=0, progress=False, log=None,
            threads=1)


def _units(model):
    return [m for m in model.modules() if isinstance(m, BinaryConvUnit)]


def test_progressive_beta_grows_then_hands_over_to_the_sign():
    p = Progressive(start=1.0, end=30.0, hard_fraction=0.25)
    betas = [p.beta(s, 100) for s in range(100)]
    soft = [b for b in betas if b is not None]
    assert len(soft) == 75 and betas[75:] == [None] * 25
    assert soft[0] == pytest.approx(1.0) and soft[-1] == pytest.approx(30.0)
    assert all(a < b for a, b in zip(soft, soft[1:]))


def test_soft_sign_is_tanh_in_training_and_the_sign_in_eval():
    torch.manual_seed(0)
    model = build_model(TINY)
    unit = next(u for u in _units(model) if u.pad == 1)
    x = torch.randn(2, unit.bn.num_features, 8, 8)
    model.train()
    hard = unit(x)
    set_soft_sign(model, 2.0)
    assert all(u.soft_beta == 2.0 for u in _units(model))
    soft = unit(x)
    assert not torch.allclose(soft, hard)
    expected = unit.act(unit.conv(F.pad(torch.tanh(2.0 * unit.bn(x)), [1] * 4, value=-1.0)))
    assert torch.allclose(soft, expected)
    model.eval()                                   # eval (and export) always binarize
    signs = torch.where(unit.bn(x) >= 0, 1.0, -1.0)
    assert torch.allclose(unit(x), unit.act(unit.conv(F.pad(signs, [1] * 4, value=-1.0))))
    set_soft_sign(model, None)
    assert all(u.soft_beta is None for u in _units(model))


def test_real_weights_and_activations_are_float_and_refused_by_export(tmp_path):
    real = build_model(TINY.replace(weights="real", acts="real", res_bits=None))
    unit = _units(real)[0]
    assert unit.sign is None and unit.conv.weight_quant.is_quant_enabled is False
    half = build_model(TINY.replace(weights="real"))
    assert _units(half)[0].sign is not None
    with pytest.raises(ExportError, match="weights='real'"):
        export_qonnx(half, half.cfg, tmp_path / "x.onnx")
    with pytest.raises(ConfigError, match="field 'acts'"):
        TINY.replace(acts="ternary")


def test_distillation_mixes_ground_truth_and_teacher():
    torch.manual_seed(0)
    teacher = build_model(TINY.replace(weights="real", acts="real", res_bits=None)).eval()
    batch = {"image": torch.rand(2, 3, 32, 32), "heatmaps": torch.rand(2, 5, 8, 8)}
    outs = [torch.randn(2, 5, 8, 8)]
    assert DistillationLoss(teacher, 0.0)(outs, batch) == pytest.approx(
        heatmap_loss(outs, batch).item())
    with torch.no_grad():
        soft = torch.sigmoid(teacher(batch["image"]))
    assert DistillationLoss(teacher, 1.0)(outs, batch) == pytest.approx(
        F.binary_cross_entropy_with_logits(outs[0], soft).item())
    assert not any(p.requires_grad for p in teacher.parameters())
    wrong = build_model(TINY.replace(num_landmarks=4))
    with pytest.raises(ConfigError, match="teacher 'hg-hpm-tiny' makes 4 heatmaps"):
        train_recipe(TINY, Recipe(teacher=wrong), 1, **FAST)


def test_reverse_order_init_trains_real_weights_then_binary(tmp_path):
    out = tmp_path / "r.pt"
    r = train_recipe(TINY, Recipe(reverse_init=True, progressive=Progressive()), 2, out=out,
                     **FAST)
    assert [h["stage"] for h in r["history"]] == ["stage 1 (real weights)",
                                                   "stage 2 (binary weights)"]
    stage1, cfg1 = load_checkpoint(tmp_path / "r.stage1.pt")
    assert cfg1.weights == "real" and load_checkpoint(out)[1] == TINY
    # Stage 2 started from stage 1's latent weights (one epoch moved them only a little).
    w1 = stage1.pre1.conv1.conv.weight
    w2 = r["model"].pre1.conv1.conv.weight
    assert F.cosine_similarity(w1.flatten(), w2.flatten(), dim=0) > 0.5
    with pytest.raises(ValueError, match="needs >= 2 epochs"):
        train_recipe(TINY, Recipe(reverse_init=True), 1, **FAST)


def test_resume_continues_bit_identically(tmp_path):
    straight = train(TINY, 2, out=tmp_path / "a.pt", **FAST)

    class Interrupt(Exception):
        pass

    def stop_in_epoch_2(msg):
        if "epoch 2/2" in msg:
            raise Interrupt

    with pytest.raises(Interrupt):            # epoch 1 is saved, epoch 2 is lost
        train(TINY, 2, out=tmp_path / "b.pt", **{**FAST, "log": stop_in_epoch_2})
    assert torch.load(tmp_path / "b.pt", weights_only=True)["epoch"] == 1
    resumed = train(TINY, 2, out=tmp_path / "b.pt", resume=True, **FAST)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2]
    a, b = straight["model"].state_dict(), resumed["model"].state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(CheckpointError, match="lr=0.001 and this run has lr=0.002"):
        train(TINY, 3, out=tmp_path / "b.pt", resume=True, **{**FAST, "lr": 2e-3})


def test_compact_checkpoint_is_small_and_computes_the_same(tmp_path):
    torch.manual_seed(1)
    model = build_model(TINY).eval()
    full = save_checkpoint(model, tmp_path / "full.pt")
    compact = save_checkpoint(model, tmp_path / "compact.pt", compact=True)
    assert compact.stat().st_size < 0.5 * full.stat().st_size
    payload = torch.load(compact, weights_only=True)
    assert "pre1.conv1.conv.weight" not in payload["state_dict"]
    assert payload["packed_weights"]["pre1.conv1.conv.weight"]["bits"].dtype == torch.uint8
    loaded, _ = load_checkpoint(compact)
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    payload["packed_weights"]["pre1.conv1.conv.weight"]["bits"] = torch.zeros(3,
                                                                              dtype=torch.uint8)
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="'pre1.conv1.conv.weight' holds 24 bits"):
        load_checkpoint(tmp_path / "bad.pt")


def test_cli_recipe_flags_release_and_resume(tmp_path, capsys):
    args = ["--epochs", "2", "--train-size", "32", "--val-size", "16", "--batch", "16",
            "--no-progress", "--threads", "1", "--act", "leakyrelu", "--reverse-init",
            "--progressive", "--beta", "1:10", "--out", str(tmp_path / "t.pt"),
            "--release", str(tmp_path / "rel.pt")]
    assert train_main(args) == 0
    assert "released" in capsys.readouterr().out
    model, cfg = load_checkpoint(tmp_path / "rel.pt")
    assert cfg.act == "leakyrelu" and cfg.binary
    assert train_main(args + ["--resume"]) == 0        # complete already: nothing to redo
    assert "resuming" in capsys.readouterr().out
    assert train_main(["--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:          # argparse, before anything is built
        train_main(["--epochs", "0"])
    assert e.value.code == 2
    assert "--epochs: must be a positive integer, got '0'" in capsys.readouterr().err
    assert train_main(["--teacher", str(tmp_path / "missing.pt")]) == 2
    assert "missing.pt': no such file" in capsys.readouterr().err


def test_prelu_slopes_stay_nonnegative_for_the_thresholds():
    """The build folds each conv's BN/alpha/PReLU into thresholds, which need a monotone
    function per channel: training clamps the slopes at 0 after every step."""
    torch.manual_seed(0)
    model = build_model(TINY)
    prelus = [m for m in model.modules() if isinstance(m, torch.nn.PReLU)]
    with torch.no_grad():
        for p in prelus:
            p.weight.fill_(-0.5)                   # as if the optimizer had pushed them there
    train(TINY, 1, model=model, **FAST)
    assert all((p.weight >= 0).all() for p in prelus)

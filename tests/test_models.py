"""Model zoo: structure, paper fidelity, configuration errors, checkpoints."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from brevitas.nn import QuantConv2d

from brevitas_models import PRESETS, ConfigError, HGConfig, build_model, get_preset
from brevitas_models.blocks import BottleneckBlock, HPMBlock
from brevitas_models.layers import UnitKind
from brevitas_models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from brevitas_models.summary import summarize

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


def summary_of(name: str):
    cfg = get_preset(name)
    torch.manual_seed(0)
    return summarize(build_model(cfg), cfg)


# Table 2 (and 10) of 002_...: parameters of the whole single-HG network.
@pytest.mark.parametrize("name, millions", [
    ("hg-hpm-paper", 6.2),
    ("hg-bottleneck-paper", 3.5),
    ("hg-unet-paper", 5.8),
])
def test_paper_parameter_counts(name, millions):
    s = summary_of(name)
    assert abs(s.params / 1e6 - millions) <= 0.05 * millions, f"{name}: {s.params:,}"


def test_z2_preset_fits_binary_weight_budget():
    s = summary_of("hg-hpm-z2")
    assert s.binary_weight_bits <= 1.5 * 2**20
    assert s.config.input_size == 128


def test_only_first_and_last_layers_are_8bit():
    cfg = get_preset("hg-hpm-2stack-tiny")
    s = summarize(build_model(cfg), cfg)
    eight = [c.name for c in s.convs if c.weight_bits == 8]
    # the stem once, one heatmap layer per stack
    assert eight == ["stem.conv", "heads.0.heatmap.conv", "heads.1.heatmap.conv"]
    assert all(c.weight_bits in (1, 8) for c in s.convs)


def test_hpm_block_structure_fig7e():
    rq = torch.nn.Identity()
    b = HPMBlock(256, 256, UnitKind(), rq)
    shapes = [(m.in_channels, m.out_channels, m.kernel_size) for m in
              (b.conv1.conv, b.conv2.conv, b.conv3.conv)]
    assert shapes == [(256, 128, (3, 3)), (128, 64, (3, 3)), (64, 64, (3, 3))]
    # no 1x1 convolutions when widths match (Sec. 4.4)
    assert b.skip.proj is None
    x = torch.randn(2, 256, 8, 8)
    assert b(x).shape == x.shape


def test_hpm_block_fig1b_matched_channels():
    b = HPMBlock(192, 192, UnitKind(), torch.nn.Identity())
    assert [(m.conv.in_channels, m.conv.out_channels) for m in (b.conv1, b.conv2, b.conv3)] == \
        [(192, 96), (96, 48), (48, 48)]


def test_bottleneck_block_fig7a():
    b = BottleneckBlock(256, 256, UnitKind(), torch.nn.Identity())
    shapes = [(m.conv.in_channels, m.conv.out_channels, m.conv.kernel_size[0])
              for m in (b.conv1, b.conv2, b.conv3)]
    assert shapes == [(256, 128, 1), (128, 128, 3), (128, 256, 1)]


def test_binary_conv_weights_are_sign_times_mean_abs():
    cfg = get_preset("hg-hpm-tiny")
    m = build_model(cfg)
    conv = m.pre1.conv1.conv
    qw = conv.quant_weight()
    alpha = conv.weight.detach().abs().mean()
    assert int(qw.bit_width) == 1
    torch.testing.assert_close(qw.value.abs().unique(), alpha.reshape(1))
    torch.testing.assert_close(torch.sign(qw.value), torch.sign(conv.weight.detach()))


def test_binary_activation_is_pm1_and_pads_with_minus_one():
    unit = build_model(get_preset("hg-hpm-tiny")).pre1.conv1
    unit.eval()
    seen = {}
    unit.conv.register_forward_pre_hook(lambda mod, inp: seen.setdefault("x", inp[0]))
    unit(torch.randn(1, unit.conv.in_channels, 6, 6))
    x = seen["x"]
    assert set(x.unique().tolist()) <= {-1.0, 1.0}
    assert (x[..., 0, :] == -1).all() and (x[..., :, -1] == -1).all()


def test_residual_stream_is_integer_with_one_shared_scale():
    cfg = get_preset("hg-hpm-tiny")
    torch.manual_seed(1)
    m = build_model(cfg).eval()
    outs = []
    m.res_quant.register_forward_hook(lambda mod, i, o: outs.append(o))
    with torch.no_grad():
        m(torch.rand(2, 3, cfg.input_size, cfg.input_size))
    scale = m.res_quant.act_quant.scale()
    assert len(outs) > 20
    for o in outs:
        q = o / scale
        torch.testing.assert_close(q, q.round(), atol=1e-4, rtol=0)
        assert q.min() >= -128 and q.max() <= 127


@pytest.mark.parametrize("name", ["hg-hpm-tiny", "hg-unet-tiny", "hg-bottleneck-tiny",
                                  "hg-hpm-2stack-tiny"])
def test_forward_shapes_and_intermediate_supervision(name):
    cfg = get_preset(name)
    m = build_model(cfg)
    outs = m.forward_all(torch.rand(2, 3, cfg.input_size, cfg.input_size))
    assert len(outs) == cfg.stacks
    for o in outs:
        assert o.shape == (2, cfg.num_landmarks, cfg.input_size // 4, cfg.input_size // 4)
    loss = sum(o.mean() for o in outs)
    loss.backward()
    assert m.stem.conv.weight.grad is not None and m.stem.conv.weight.grad.abs().sum() > 0


def test_config_is_configurable():
    cfg = HGConfig(channels=48, depth=3, input_size=64, num_landmarks=68, block="bottleneck",
                   stacks=2, arch="unet")
    out = build_model(cfg)(torch.rand(1, 3, 64, 64))
    assert out.shape == (1, 68, 16, 16)


@pytest.mark.parametrize("changes, field", [
    (dict(channels=36), "channels"),
    (dict(input_size=100), "input_size"),
    (dict(input_size=64, depth=5), "input_size"),
    (dict(block="inception"), "block"),
    (dict(arch="resnet"), "arch"),
    (dict(stacks=0), "stacks"),
    (dict(res_bits=1), "res_bits"),
])
def test_inconsistent_config_names_the_field(changes, field):
    with pytest.raises(ConfigError, match=f"field '{field}'"):
        HGConfig(**changes)


def test_unknown_preset_lists_known_ones():
    with pytest.raises(ConfigError, match="unknown preset 'hg-nope'.*hg-hpm-z2"):
        get_preset("hg-nope")


@pytest.mark.parametrize("module", ["brevitas_models.summary", "brevitas_models.export"])
def test_cli_unknown_preset_exits_nonzero(module):
    r = subprocess.run([sys.executable, "-m", module, "hg-nope"], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "unknown preset 'hg-nope'" in r.stderr
    assert "Traceback" not in r.stderr


def test_summary_cli_prints_counts():
    r = subprocess.run([sys.executable, "-m", "brevitas_models.summary", "hg-hpm-tiny",
                        "--layers"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    s = summary_of("hg-hpm-tiny")
    assert f"{s.params:,}" in r.stdout
    assert f"{s.binary_weight_bits:,}" in r.stdout
    assert "stem.conv" in r.stdout


def test_checkpoint_roundtrip(tmp_path):
    cfg = get_preset("hg-hpm-tiny")
    torch.manual_seed(3)
    m = build_model(cfg).eval()
    path = save_checkpoint(m, tmp_path / "m.pt", epoch=7)
    m2, cfg2 = load_checkpoint(path)
    assert cfg2 == cfg
    x = torch.rand(1, 3, cfg.input_size, cfg.input_size)
    with torch.no_grad():
        torch.testing.assert_close(m(x), m2(x), rtol=0, atol=0)


def test_corrupt_checkpoint_is_refused_with_the_file_named(tmp_path):
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"\x00not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="garbage.pt.*corrupt or truncated"):
        load_checkpoint(bad)
    good = save_checkpoint(build_model(get_preset("hg-hpm-tiny")), tmp_path / "good.pt")
    trunc = tmp_path / "trunc.pt"
    trunc.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="trunc.pt"):
        load_checkpoint(trunc)
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoint_with_wrong_weights_or_config_is_refused(tmp_path):
    m = build_model(get_preset("hg-hpm-tiny"))
    sd = m.state_dict()
    sd["stem.conv.weight"] = torch.zeros(1)
    torch.save({"format": "binhg-checkpoint/1", "config": m.cfg.to_dict(), "state_dict": sd},
               tmp_path / "w.pt")
    with pytest.raises(CheckpointError, match="w.pt.*do not fit"):
        load_checkpoint(tmp_path / "w.pt")
    torch.save({"format": "binhg-checkpoint/1", "config": {**m.cfg.to_dict(), "channels": 30},
                "state_dict": m.state_dict()}, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="c.pt.*bad 'config'.*channels"):
        load_checkpoint(tmp_path / "c.pt")


def test_every_preset_builds():
    for name in PRESETS:
        m = build_model(get_preset(name))
        assert sum(isinstance(x, QuantConv2d) for x in m.modules()) > 10

"""The ablation experiment, on a toy budget: its rows, its reuse of identical runs, outputs."""
from __future__ import annotations

import json

from brevitas_models.config import get_preset
from brevitas_models.experiments.ablation import main as ablation_main
from brevitas_models.experiments.ablation import matched_bottleneck
from brevitas_models.experiments.ablation import n_params


def test_bottleneck_is_matched_to_the_hpm_parameter_count():
    hpm = get_preset("hg-hpm-tiny")
    b = matched_bottleneck(hpm)
    assert b.block == "bottleneck" and b.channels % 8 == 0
    for c in (b.channels - 8, b.channels + 8):   # the neighbours are further away
        other = n_params(hpm.replace(block="bottleneck", channels=c))
        assert abs(other - n_params(hpm)) >= abs(n_params(b) - n_params(hpm))


def test_ablation_rows_reuse_and_outputs(tmp_path, capsys):
    rows = ablation_main(["--input-size", "32", "--epochs", "2", "--train-size", "32",
                          "--val-size", "16", "--batch", "16", "--out", str(tmp_path),
                          "--only", "binary HPM block,PReLU,+ progressive quantization"])
    assert [r["label"] for r in rows] == ["binary HPM block", "PReLU",
                                          "+ progressive quantization"]
    assert rows[1]["history"] == rows[0]["history"]          # the same run, not retrained
    assert "the same network and recipe as an earlier row" in capsys.readouterr().out
    assert [h["stage"] for h in rows[2]["history"]] == ["stage 1 (real weights)",
                                                        "stage 2 (binary weights)"]
    saved = json.loads((tmp_path / "ablation.json").read_text())
    assert len(saved["runs"]) == 3 and len(saved["table"]) == 5
    assert (tmp_path / "ablation.png").stat().st_size > 10_000


def test_combine_seeds(tmp_path):
    from brevitas_models.experiments.ablation import combine

    def fake(seed, pcks):
        runs = [{"group": "g", "label": k, "params": 10, "val_pck": v} for k, v in pcks.items()]
        path = tmp_path / f"s{seed}.json"
        path.write_text(json.dumps({"args": {"seed": seed}, "runs": runs}))
        return str(path)

    table = combine([fake(0, {"a": 0.5, "b": 0.7}), fake(1, {"a": 0.7, "b": 0.7})])
    assert table[0].startswith("| group | network / recipe | parameters | seed 0 | seed 1 |")
    assert table[2] == "| g | a | 10 | 0.500 | 0.700 | **0.600** | 0.200 |"

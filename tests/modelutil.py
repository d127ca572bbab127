"""Models and inputs shared by the tests."""
from __future__ import annotations

import numpy as np
import torch

from brevitas_models import build_model, get_preset


def calibrated_model(name: str, seed: int = 0):
    """A model whose BN statistics and residual scale are no longer at their init values."""
    cfg = get_preset(name)
    torch.manual_seed(seed)
    m = build_model(cfg)
    m.train()
    with torch.no_grad():
        for _ in range(2):
            m(torch.rand(2, cfg.in_channels, cfg.input_size, cfg.input_size))
    return m.eval(), cfg


def uint8_batch(cfg, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, cfg.in_channels, cfg.input_size, cfg.input_size),
                        dtype=np.uint8)


def uint8_images(cfg, n: int, seed: int) -> np.ndarray:
    """Random uint8 images as the float p/255 the models take."""
    return (uint8_batch(cfg, n, seed) / 255.0).astype(np.float32)


def hardware_graph(finn_model):
    """The flow's hardware graph of a FINN graph, up to (not including) folding, with the
    lowering's probes for layer-by-layer comparison."""
    from flow.frontend.transforms import InsertDuplicateStreams, streamline
    from flow.hwgraph import apply_all
    from flow.frontend.lower import lower_to_hw

    g = lower_to_hw(finn_model)
    streamline(g)
    apply_all(g, [InsertDuplicateStreams()])
    g.check()
    return g

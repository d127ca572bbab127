"""Models and inputs shared by the tests."""
from __future__ import annotations

import numpy as np
import torch

from brevitas_models import build_model, get_preset


def calibrated_model(name: str, seed: int = 0, **changes):
    """A model whose BN statistics and residual scale are no longer at their init values
    (the preset `name` with its config fields `changes`)."""
    cfg = get_preset(name).replace(**changes)
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


# Unit roundoff of float32: the bounds below hold for any summation order, so for any CPU's
# kernels (AVX2 or not, FMA or not) and any number of threads.
U32 = 2.0 ** -24


class HeatmapIntegers:
    """The last heatmap layer of a model on a batch, in integers: the codes of the residual
    stream it reads (on the shared quantizer's grid), its int8 weights, the exact integer
    accumulators W . codes, and sum |W| |codes|, which bounds the float error of computing
    them in float32. `out` is the model's float output (N, J, H, W)."""

    def __init__(self, model, x):
        head = model.heads[-1].heatmap
        seen = []
        hook = head.register_forward_pre_hook(lambda m, a: seen.append(a[0].detach()))
        with torch.no_grad():
            self.out = model(torch.as_tensor(x)).numpy()
        hook.remove()
        res_scale = float(model.res_quant.act_quant.scale())
        self.codes = torch.round(seen[-1] / res_scale).to(torch.int64).numpy()   # N, C, H, W
        qw = head.conv.quant_weight()
        w_scale = float(qw.scale.detach())
        w = qw.value.detach().numpy()[:, :, 0, 0] / w_scale
        assert np.array_equal(w, np.rint(w)), "the heatmap layer's weights are not int8"
        self.weights = np.rint(w).astype(np.int64)                                 # J, C
        self.acc = np.einsum("jc,nchw->njhw", self.weights, self.codes)
        self.magnitude = np.einsum("jc,nchw->njhw", np.abs(self.weights),
                                   np.abs(self.codes))
        self.scale = w_scale * res_scale
        self.bias = head.conv.bias.detach().numpy().astype(np.float64)[None, :, None, None]
        self.terms = self.weights.shape[1]

    def exact(self) -> np.ndarray:
        """The real heatmaps, acc * scale + bias, in float64."""
        return self.acc * self.scale + self.bias

    def tolerance(self) -> np.ndarray:
        """Largest error of a float32 computation of exact(): each of the `terms` products
        and partial sums, the bias and the inputs rounded once."""
        return (self.terms + 4) * U32 * (self.magnitude * self.scale + np.abs(self.bias))

    def assert_close(self, out, what: str) -> None:
        """`out` (float32, N J H W) is exact() up to float32 rounding, element by element."""
        err = np.abs(np.asarray(out, np.float64) - self.exact())
        tol = self.tolerance()
        worst = np.unravel_index(np.argmax(err - tol), err.shape)
        assert (err <= tol).all(), (f"{what}: heatmap {worst} is {err[worst]:.3g} from the "
                                    f"exact value, more than float32 rounding ({tol[worst]:.3g})")

"""Our hardware layer library (flow/layers/) against FINN's own hardware custom ops.

Every test builds a tiny ONNX model of FINN HW layers (domain finn.custom_op.fpgadataflow,
the non-specialized ops, executed by qonnx's `execute_onnx` through each op's Python
`execute_node`: no HLS, no Vivado), runs it and our layer on the same random integer codes and
compares bit-exactly. Data are NHWC on both sides.

Conventions that differ, and what is compared instead:
- FINN has no `flip` (a decreasing threshold function). For the MVTUs, FINN's streamliner moves
  a negative scale into the preceding weights (FactorOutMulSignMagnitude), so a flipped channel
  is fed to FINN with negated weights: -acc >= T is (-W) x >= T; for xnor weights negation is
  bit inversion, P' = K - P, so -P >= T is P' >= T + K. FINN's standalone Thresholding has no
  weights to negate: only flip = 0 channels are compared there (`test_threshold`).
- FINN pads with zeros only (FMPadding), so sliding windows are compared for pad_code 0 (for
  binary streams that is our -1 bit, the only code the compiler pads them with).
- FINN's elementwise Add does not saturate: our `add` is compared unclipped against
  ElementwiseAdd, and clipped against ElementwiseAdd -> Thresholding (the clip written as the
  thresholds lo+1..hi with ActVal = lo, which is how FINN implements a saturating requantizer).
- FINN has no StreamingMaxPool in this version: max-pooling is lowered as FINN's InferPool does,
  ConvolutionInputGenerator (stride = kernel) -> Pool(Function=MaxPool).
- qonnx carries all values as float32: accumulators are kept below 2**24 so that FINN's float
  matmul is exact (K * max|x| * max|w| < 2**24 in the int_mvtu tests).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from onnx import TensorProto
from onnx import helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.basic import qonnx_make_model

from flow.hwgraph import HwGraph
from flow.hwgraph import HwNode
from flow.hwgraph import HwTensor
from flow.layers import KINDS

FINN_DOMAIN = "finn.custom_op.fpgadataflow"


# -- helpers ----------------------------------------------------------------------------------
def finn_node(op_type: str, inputs: list[str], outputs: list[str], **attrs):
    return helper.make_node(op_type, inputs, outputs, domain=FINN_DOMAIN,
                            backend="fpgadataflow", **attrs)


def run_finn(nodes, inputs: dict, outputs: dict, params: dict | None = None,
             between: dict | None = None) -> list[np.ndarray]:
    """Build and execute a FINN HW model; return its outputs (int64) in `outputs` order.

    inputs: name -> (array, dtype); params (initializers): name -> (array, dtype);
    outputs and between (intermediate tensors): name -> (shape, dtype).
    """
    params, between = params or {}, between or {}

    def vi(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))

    graph = helper.make_graph(
        nodes=nodes, name="finn_ref",
        inputs=[vi(n, a.shape) for n, (a, _) in inputs.items()],
        outputs=[vi(n, s) for n, (s, _) in outputs.items()],
        value_info=[vi(n, s) for n, (s, _) in between.items()])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="test_layers_vs_finn"))
    for n, (a, dt) in params.items():
        model.set_initializer(n, np.asarray(a, dtype=np.float32))
        model.set_tensor_datatype(n, DataType[dt])
    for n, (_, dt) in {**inputs, **outputs, **between}.items():
        model.set_tensor_datatype(n, DataType[dt])
    feed = {n: np.asarray(a, dtype=np.float32) for n, (a, _) in inputs.items()}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        # (added last, so checked first) A value outside its tensor's declared DataType is a
        # mistake in the test or a real disagreement: qonnx only warns about it, make it fail.
        warnings.filterwarnings("error", message=r"The values of tensor .* can't be represented")
        res = execute_onnx(model, feed)
    out = []
    for n in outputs:
        v = np.asarray(res[n], dtype=np.float64)
        assert np.array_equal(v, np.round(v)), f"FINN output {n} is not integral"
        out.append(v.astype(np.int64))
    return out


def run_ours(kind: str, inputs: list[tuple[np.ndarray, str]], outputs: list[tuple[tuple, str]],
             attrs: dict | None = None, arrays: dict | None = None) -> list[np.ndarray]:
    """Execute one node of our layer library on int64 NHWC inputs."""
    g = HwGraph()
    in_names = [f"in{i}" for i in range(len(inputs))]
    out_names = [f"out{i}" for i in range(len(outputs))]
    for n, (a, dt) in zip(in_names, inputs):
        g.add_tensor(HwTensor(n, tuple(a.shape[1:]), dt))
    for n, (s, dt) in zip(out_names, outputs):
        g.add_tensor(HwTensor(n, tuple(s), dt))
    node = HwNode("n0", kind, in_names, out_names, dict(attrs or {}), dict(arrays or {}))
    g.add_node(node)
    res = KINDS[kind].execute(node, g, [np.asarray(a, dtype=np.int64) for a, _ in inputs])
    assert len(res) == len(outputs)
    for r, (s, _) in zip(res, outputs):
        assert r.shape[1:] == tuple(s)
    return [np.asarray(r, dtype=np.int64) for r in res]


def codes(rng, dtype: str, shape) -> np.ndarray:
    dt = DataType[dtype]
    return rng.integers(int(dt.min()), int(dt.max()) + 1, size=shape, dtype=np.int64)


def random_thresholds(rng, pre: np.ndarray, levels: int, lo: int, hi: int) -> np.ndarray:
    """Nondecreasing integer thresholds [C, levels] for the pre-threshold values pre [..., C]:
    half of them values that occur in pre (so that x == T ties are exercised), the rest in
    [lo, hi], with repeats and some beyond the range (never / always reached)."""
    pre = pre.reshape(-1, pre.shape[-1])
    c = pre.shape[1]
    t = rng.integers(lo - 2, hi + 3, size=(c, levels))
    t[rng.random((c, levels)) < 0.1] = lo - 50
    t[rng.random((c, levels)) < 0.1] = hi + 50
    seen = pre[rng.integers(0, pre.shape[0], size=(c, levels)), np.arange(c)[:, None]]
    t = np.where(rng.random((c, levels)) < 0.5, seen, t)
    return np.sort(t, axis=1)


def assert_same(ours: np.ndarray, finn: np.ndarray):
    assert ours.shape == finn.shape, (ours.shape, finn.shape)
    bad = np.argwhere(ours != finn)
    assert bad.size == 0, (f"{len(bad)} of {ours.size} values differ; first at {bad[0].tolist()}: "
                           f"ours {ours[tuple(bad[0])]} vs FINN {finn[tuple(bad[0])]}")


# -- xnor_mvtu: MVAU, binaryXnorMode=1 ----------------------------------------------------------
def mvau(x, w_kc, in_dt, w_dt, out_dt, thresholds=None, act_val=0, xnor=False):
    """FINN MVAU on x [N, H, W, K] with its weight matrix [K, Cout] (MW x MH)."""
    n, h, w, k = x.shape
    cout = w_kc.shape[1]
    ins = ["x", "w"] + (["t"] if thresholds is not None else [])
    node = finn_node("MVAU", ins, ["y"], MW=k, MH=cout, SIMD=1, PE=1,
                     inputDataType=in_dt, weightDataType=w_dt, outputDataType=out_dt,
                     binaryXnorMode=int(xnor), noActivation=int(thresholds is None),
                     ActVal=act_val, numInputVectors=[n, h, w])
    params = {"w": (w_kc, w_dt)}
    if thresholds is not None:
        params["t"] = (thresholds, "INT32")
    return run_finn([node], {"x": (x, in_dt)}, {"y": ((n, h, w, cout), out_dt)}, params)[0]


@pytest.mark.parametrize("seed,shape,cout", [
    (0, (1, 4, 5, 9), 3),        # 3x3 conv over 1 channel
    (1, (2, 3, 3, 72), 8),       # 3x3 conv over 8 channels, batch 2
    (2, (1, 2, 7, 200), 5),      # K not a multiple of 64 (packed-word tail)
])
def test_xnor_mvtu_popcount(seed, shape, cout):
    rng = np.random.default_rng(seed)
    k = shape[-1]
    x = rng.integers(0, 2, size=shape)
    w = rng.integers(0, 2, size=(cout, k)).astype(np.uint8)
    oshape = (*shape[1:3], cout)
    ours = run_ours("xnor_mvtu", [(x, "BINARY")], [(oshape, "INT32")], arrays={"weights": w})[0]
    finn = mvau(x, w.T, "BINARY", "BINARY", "INT32", xnor=True)
    assert_same(ours, finn)
    assert ours.min() >= 0 and ours.max() <= k


@pytest.mark.parametrize("seed,shape,cout,levels,base,out_dt", [
    (10, (1, 5, 4, 36), 6, 1, 0, "BINARY"),      # BN + sign: one threshold, binary out
    (11, (2, 3, 3, 72), 7, 255, -128, "INT8"),   # PReLU + int8 requantizer
    (12, (1, 4, 4, 288), 4, 15, -8, "INT4"),
])
def test_xnor_mvtu_thresholds(seed, shape, cout, levels, base, out_dt):
    rng = np.random.default_rng(seed)
    k = shape[-1]
    x = rng.integers(0, 2, size=shape)
    w = rng.integers(0, 2, size=(cout, k)).astype(np.uint8)
    flip = (rng.random(cout) < 0.4).astype(np.uint8)
    flip[0], flip[-1] = 0, 1
    # thresholds on s*P: P in [0, K] unflipped, -P in [-K, 0] flipped
    p = (x[..., None, :] == w).sum(-1)
    sp = np.where(flip.astype(bool), -p, p)
    T = np.where(flip[:, None].astype(bool), random_thresholds(rng, sp, levels, -k, 0),
                 random_thresholds(rng, sp, levels, 0, k))
    oshape = (*shape[1:3], cout)
    ours = run_ours("xnor_mvtu", [(x, "BINARY")], [(oshape, out_dt)], attrs={"base": base},
                    arrays={"weights": w, "thresholds": T, "flip": flip})[0]
    # FINN: invert the weight bits of flipped channels, shift their thresholds by K
    w_finn = np.where(flip[:, None].astype(bool), 1 - w, w)
    T_finn = np.where(flip[:, None].astype(bool), T + k, T)
    finn = mvau(x, w_finn.T, "BINARY", "BINARY", out_dt, thresholds=T_finn, act_val=base,
                xnor=True)
    assert_same(ours, finn)


# -- int_mvtu: MVAU with integer weights --------------------------------------------------------
@pytest.mark.parametrize("seed,shape,cout,in_dt", [
    (20, (1, 4, 4, 27), 8, "UINT8"),     # stem: 3x3 over RGB pixels
    (21, (2, 3, 5, 16), 5, "INT8"),      # heatmap: 1x1 over the int8 residual stream
    (22, (1, 2, 3, 288), 3, "INT8"),     # 288 * 128 * 128 < 2**24
])
def test_int_mvtu_accumulator(seed, shape, cout, in_dt):
    rng = np.random.default_rng(seed)
    x = codes(rng, in_dt, shape)
    w = codes(rng, "INT8", (cout, shape[-1]))
    oshape = (*shape[1:3], cout)
    ours = run_ours("int_mvtu", [(x, in_dt)], [(oshape, "INT32")], arrays={"weights": w})[0]
    finn = mvau(x, w.T, in_dt, "INT8", "INT32")
    assert_same(ours, finn)


@pytest.mark.parametrize("seed,shape,cout,in_dt,levels,base,out_dt", [
    (30, (1, 4, 4, 27), 8, "UINT8", 255, -128, "INT8"),   # stem with int8 requantizer
    (31, (2, 3, 3, 16), 6, "INT8", 1, 0, "BINARY"),
    (32, (1, 3, 2, 144), 5, "UINT8", 7, 0, "UINT3"),
])
def test_int_mvtu_thresholds(seed, shape, cout, in_dt, levels, base, out_dt):
    rng = np.random.default_rng(seed)
    k = shape[-1]
    x = codes(rng, in_dt, shape)
    w = codes(rng, "INT8", (cout, k))
    flip = (rng.random(cout) < 0.4).astype(np.uint8)
    flip[0], flip[-1] = 0, 1
    # thresholds on s*acc, around the accumulator values that occur
    sacc = np.where(flip.astype(bool), -1, 1) * (x @ w.T)
    T = random_thresholds(rng, sacc, levels, int(sacc.min()), int(sacc.max()))
    oshape = (*shape[1:3], cout)
    ours = run_ours("int_mvtu", [(x, in_dt)], [(oshape, out_dt)], attrs={"base": base},
                    arrays={"weights": w, "thresholds": T, "flip": flip})[0]
    # FINN: negate the weight rows of flipped channels (-128 -> 128 needs INT9)
    w_finn = np.where(flip[:, None].astype(bool), -w, w)
    finn = mvau(x, w_finn.T, in_dt, "INT9", out_dt, thresholds=T, act_val=base)
    assert_same(ours, finn)
    assert len(np.unique(ours)) > 1


# -- threshold: Thresholding ---------------------------------------------------------------------
@pytest.mark.parametrize("seed,shape,in_dt,levels,base,out_dt", [
    (40, (1, 5, 6, 8), "INT8", 1, 0, "BINARY"),       # residual stream -> BN + sign
    (41, (2, 4, 3, 5), "INT32", 255, -128, "INT8"),   # accumulator -> requantizer
    (42, (1, 3, 3, 4), "UINT8", 3, 1, "UINT3"),
])
def test_threshold(seed, shape, in_dt, levels, base, out_dt):
    rng = np.random.default_rng(seed)
    c = shape[-1]
    dt = DataType[in_dt]
    lo, hi = (-1000, 1000) if in_dt == "INT32" else (int(dt.min()), int(dt.max()))
    x = rng.integers(lo, hi + 1, size=shape)
    T = random_thresholds(rng, x, levels, lo, hi)
    # FINN's Thresholding is increasing only: flip = 0 everywhere (see the module docstring)
    flip = np.zeros(c, dtype=np.uint8)
    ours = run_ours("threshold", [(x, in_dt)], [(shape[1:], out_dt)], attrs={"base": base},
                    arrays={"thresholds": T, "flip": flip})[0]
    node = finn_node("Thresholding", ["x", "t"], ["y"], PE=1, NumChannels=c, numSteps=levels,
                     inputDataType=in_dt, weightDataType="INT32", outputDataType=out_dt,
                     ActVal=base, numInputVectors=list(shape[:3]))
    finn = run_finn([node], {"x": (x, in_dt)}, {"y": (shape, out_dt)},
                    {"t": (T, "INT32")})[0]
    assert_same(ours, finn)


# -- sliding_window: FMPadding -> ConvolutionInputGenerator ------------------------------------
def finn_sliding_window(x, dt, k, s, pad):
    _, h, w, c = x.shape
    t, l, b, r = pad
    hp, wp = h + t + b, w + l + r
    oh, ow = (hp - k) // s + 1, (wp - k) // s + 1
    nodes, between, src = [], {}, "x"
    if any(pad):
        nodes.append(finn_node("FMPadding", ["x"], ["xp"], ImgDim=[h, w], Padding=[t, l, b, r],
                               NumChannels=c, SIMD=1, inputDataType=dt))
        between["xp"] = ((1, hp, wp, c), dt)
        src = "xp"
    nodes.append(finn_node("ConvolutionInputGenerator", [src], ["y"], ConvKernelDim=[k, k],
                           IFMChannels=c, IFMDim=[hp, wp], OFMDim=[oh, ow], SIMD=1,
                           Stride=[s, s], Dilation=[1, 1], inputDataType=dt,
                           outputDataType=dt))
    return run_finn(nodes, {"x": (x, dt)}, {"y": ((1, oh, ow, k * k * c), dt)},
                    between=between)[0]


@pytest.mark.parametrize("seed,hwc,dt,k,s,pad", [
    (50, (6, 7, 3), "BINARY", 3, 1, [1, 1, 1, 1]),    # 3x3 'same' binary conv
    (51, (8, 8, 4), "BINARY", 3, 2, [0, 0, 1, 1]),    # stride-2 'same' (pad bottom/right)
    (52, (5, 6, 3), "UINT8", 3, 2, [1, 1, 1, 1]),     # stem over RGB
    (53, (4, 5, 6), "INT8", 1, 1, [0, 0, 0, 0]),      # 1x1: identity windows
    (54, (7, 5, 2), "INT8", 2, 2, [0, 1, 1, 0]),      # even kernel, asymmetric pad, odd size
])
def test_sliding_window(seed, hwc, dt, k, s, pad):
    rng = np.random.default_rng(seed)
    x = codes(rng, dt, (1, *hwc))
    h, w, c = hwc
    oh = (h + pad[0] + pad[2] - k) // s + 1
    ow = (w + pad[1] + pad[3] - k) // s + 1
    ours = run_ours("sliding_window", [(x, dt)], [((oh, ow, k * k * c), dt)],
                    attrs={"kernel": k, "stride": s, "pad": pad, "pad_code": 0})[0]
    assert_same(ours, finn_sliding_window(x, dt, k, s, pad))


# -- maxpool: ConvolutionInputGenerator -> Pool(MaxPool) ------------------------------------------
@pytest.mark.parametrize("seed,hwc,dt,k", [
    (60, (8, 6, 5), "INT8", 2),
    (61, (7, 9, 3), "INT8", 2),       # odd sizes: the last row/column is dropped
    (62, (6, 6, 4), "BINARY", 3),
    (63, (4, 4, 2), "UINT8", 4),
])
def test_maxpool(seed, hwc, dt, k):
    rng = np.random.default_rng(seed)
    x = codes(rng, dt, (1, *hwc))
    h, w, c = hwc
    oh, ow = h // k, w // k
    ours = run_ours("maxpool", [(x, dt)], [((oh, ow, c), dt)], attrs={"kernel": k})[0]
    nodes = [
        finn_node("ConvolutionInputGenerator", ["x"], ["win"], ConvKernelDim=[k, k],
                  IFMChannels=c, IFMDim=[h, w], OFMDim=[oh, ow], SIMD=1, Stride=[k, k],
                  Dilation=[1, 1], inputDataType=dt, outputDataType=dt),
        finn_node("Pool", ["win"], ["y"], Channels=c, PE=1, KernelSize=[k, k],
                  Function="MaxPool", OutImgDims=[oh, ow], InputDataType=dt,
                  OutputDataType=dt, BatchSize=1),
    ]
    finn = run_finn(nodes, {"x": (x, dt)}, {"y": ((1, oh, ow, c), dt)},
                    between={"win": ((1, oh, ow, k * k * c), dt)})[0]
    assert_same(ours, finn)


# -- upsample: UpsampleNearestNeighbour --------------------------------------------------------
@pytest.mark.parametrize("seed,shape,dt,f", [
    (70, (1, 4, 4, 6), "INT8", 2),
    (71, (2, 3, 5, 3), "INT8", 2),
    (72, (1, 2, 3, 4), "BINARY", 3),
])
def test_upsample(seed, shape, dt, f):
    rng = np.random.default_rng(seed)
    x = codes(rng, dt, shape)
    n, h, w, c = shape
    oshape = (h * f, w * f, c)
    ours = run_ours("upsample", [(x, dt)], [(oshape, dt)], attrs={"factor": f})[0]
    node = finn_node("UpsampleNearestNeighbour", ["x"], ["y"], SIMD=1, HO=h * f, WO=w * f,
                     HI=h, WI=w, NumChannels=c, inputDataType=dt, batchSize=n)
    finn = run_finn([node], {"x": (x, dt)}, {"y": ((n, *oshape), dt)})[0]
    assert_same(ours, finn)


# -- concat: StreamingConcat -----------------------------------------------------------------------
@pytest.mark.parametrize("seed,nhw,chans,dt", [
    (80, (1, 4, 5), [3, 5], "INT8"),
    (81, (2, 3, 3), [4, 1, 6], "BINARY"),    # the HPM block's three-way concat
])
def test_concat(seed, nhw, chans, dt):
    rng = np.random.default_rng(seed)
    xs = [codes(rng, dt, (*nhw, c)) for c in chans]
    oshape = (*nhw[1:], sum(chans))
    ours = run_ours("concat", [(x, dt) for x in xs], [(oshape, dt)])[0]
    names = [f"x{i}" for i in range(len(xs))]
    node = finn_node("StreamingConcat", names, ["y"], SIMD=1, ChannelsPerStream=chans,
                     inputDataTypes=[dt] * len(xs), numInputVectors=list(nhw))
    finn = run_finn([node], {n: (x, dt) for n, x in zip(names, xs)},
                    {"y": ((nhw[0], *oshape), dt)})[0]
    assert_same(ours, finn)


# -- duplicate: DuplicateStreams ---------------------------------------------------------------
@pytest.mark.parametrize("seed,shape,dt,n_out", [
    (90, (1, 4, 4, 6), "INT8", 2),
    (91, (2, 3, 2, 5), "BINARY", 3),
])
def test_duplicate(seed, shape, dt, n_out):
    rng = np.random.default_rng(seed)
    x = codes(rng, dt, shape)
    ours = run_ours("duplicate", [(x, dt)], [(shape[1:], dt)] * n_out)
    outs = [f"y{i}" for i in range(n_out)]
    node = finn_node("DuplicateStreams", ["x"], outs, NumChannels=shape[-1], PE=1,
                     NumOutputStreams=n_out, inputDataType=dt, numInputVectors=list(shape[:3]))
    finn = run_finn([node], {"x": (x, dt)}, {o: (shape, dt) for o in outs})
    for a, b in zip(ours, finn):
        assert_same(a, b)


# -- add: ElementwiseAdd (-> Thresholding for the saturating clip) -----------------------------
def finn_add(a, b, dt, sum_dt, clip=None):
    shape = list(a.shape)
    add = finn_node("ElementwiseAdd", ["a", "b"], ["s" if clip else "y"], lhs_dtype=dt,
                    rhs_dtype=dt, out_dtype=sum_dt, lhs_shape=shape, rhs_shape=shape,
                    out_shape=shape, PE=1)
    if clip is None:
        return run_finn([add], {"a": (a, dt), "b": (b, dt)}, {"y": (shape, sum_dt)})[0]
    lo, hi, out_dt = clip
    T = np.tile(np.arange(lo + 1, hi + 1), (shape[-1], 1))     # clip as thresholds
    thr = finn_node("Thresholding", ["s", "t"], ["y"], PE=1, NumChannels=shape[-1],
                    numSteps=T.shape[1], inputDataType=sum_dt, weightDataType="INT32",
                    outputDataType=out_dt, ActVal=lo, numInputVectors=shape[:3])
    return run_finn([add, thr], {"a": (a, dt), "b": (b, dt)}, {"y": (shape, out_dt)},
                    {"t": (T, "INT32")}, between={"s": (shape, sum_dt)})[0]


@pytest.mark.parametrize("seed,shape,dt,sum_dt,out_dt,lo,hi", [
    (100, (1, 4, 5, 6), "INT8", "INT9", "INT8", -128, 127),    # residual add, saturating
    (101, (2, 3, 3, 4), "INT8", "INT9", "INT9", -256, 254),    # full width: never clips
    (102, (1, 3, 4, 5), "UINT8", "UINT9", "UINT8", 0, 255),
])
def test_add(seed, shape, dt, sum_dt, out_dt, lo, hi):
    rng = np.random.default_rng(seed)
    a, b = codes(rng, dt, shape), codes(rng, dt, shape)
    ours = run_ours("add", [(a, dt), (b, dt)], [(shape[1:], out_dt)],
                    attrs={"out_min": lo, "out_max": hi})[0]
    if lo <= (a + b).min() and (a + b).max() <= hi:   # never saturates: FINN's Add alone
        assert_same(ours, finn_add(a, b, dt, sum_dt))
    else:
        assert (ours != a + b).any()   # the clip is exercised
    assert_same(ours, finn_add(a, b, dt, sum_dt, clip=(lo, hi, out_dt)))


# -- slice_channels: StreamingSplit ------------------------------------------------------------
@pytest.mark.parametrize("seed,shape,dt,start,stop", [
    (110, (1, 4, 4, 8), "INT8", 0, 4),      # U-Net merge: first half
    (111, (2, 3, 2, 8), "INT8", 4, 8),      # second half
    (112, (1, 2, 3, 7), "BINARY", 2, 5),
])
def test_slice_channels(seed, shape, dt, start, stop):
    rng = np.random.default_rng(seed)
    x = codes(rng, dt, shape)
    c = shape[-1]
    ours = run_ours("slice_channels", [(x, dt)], [((*shape[1:3], stop - start), dt)],
                    attrs={"start": start, "stop": stop})[0]
    # FINN splits into consecutive parts (no empty ones); keep the [start, stop) part
    parts = [(n, p) for n, p in (("lo", start), ("y", stop - start), ("hi", c - stop)) if p]
    node = finn_node("StreamingSplit", ["x"], [n for n, _ in parts], SIMD=1,
                     ChannelsPerStream=[p for _, p in parts], inputDataType=dt,
                     numInputVectors=list(shape[:3]))
    res = run_finn([node], {"x": (x, dt)}, {n: ((*shape[:3], p), dt) for n, p in parts})
    assert_same(ours, res[[n for n, _ in parts].index("y")])


# -- fifo: StreamingFIFO -----------------------------------------------------------------------
def test_fifo():
    rng = np.random.default_rng(120)
    shape, dt = (1, 3, 4, 5), "INT8"
    x = codes(rng, dt, shape)
    ours = run_ours("fifo", [(x, dt)], [(shape[1:], dt)], attrs={"depth": 16})[0]
    node = finn_node("StreamingFIFO", ["x"], ["y"], depth=16, folded_shape=[1, 12, 5, 1],
                     normal_shape=list(shape), dataType=dt)
    assert_same(ours, run_finn([node], {"x": (x, dt)}, {"y": (shape, dt)})[0])

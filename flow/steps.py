"""The build steps, in order. One transformation stage per step."""
from __future__ import annotations

import warnings

from .runner import BuildContext
from .runner import BuildError
from .runner import Step
from .runner import StepOutcome

# Weights stay on chip; leave headroom for line buffers, FIFOs and thresholds.
ONCHIP_WEIGHT_BUDGET = 0.85


def step_check_fit(ctx: BuildContext) -> StepOutcome:
    """Refuse, before any long work, a network whose weights cannot fit the board's RAM."""
    from brevitas_models.summary import summarize

    s = summarize(ctx.torch_model, ctx.cfg)
    weight_bits = s.binary_weight_bits + s.int8_weight_bits
    budget = int(ctx.board.onchip_bits * ONCHIP_WEIGHT_BUDGET)
    info = {"weight_bits": weight_bits, "onchip_budget_bits": budget,
            "binary_macs_per_frame": s.binary_macs, "int8_macs_per_frame": s.int8_macs}
    if weight_bits > budget:
        raise BuildError(
            f"model '{ctx.cfg.name}' does not fit board '{ctx.board.name}': its weights need "
            f"{weight_bits / 2**20:.2f} Mibit but {ctx.board.part} has "
            f"{ctx.board.onchip_bits / 2**20:.2f} Mibit of on-chip RAM "
            f"({ONCHIP_WEIGHT_BUDGET:.0%} usable for weights = {budget / 2**20:.2f} Mibit). "
            "Use a smaller preset (e.g. --model hg-hpm-z2), a bigger board "
            "(--board zcu104), or fewer channels.")
    return StepOutcome("done", f"{weight_bits / 2**20:.2f} of {budget / 2**20:.2f} Mibit "
                       "on-chip weight budget", info)


def step_export_qonnx(ctx: BuildContext) -> StepOutcome:
    from qonnx.core.modelwrapper import ModelWrapper

    from brevitas_models.export import export_qonnx

    path = export_qonnx(ctx.torch_model, ctx.cfg, ctx.out_dir / f"{ctx.cfg.name}.qonnx.onnx")
    ctx.model = ModelWrapper(str(path))
    return StepOutcome("done", f"wrote {path.name}", {"artifact": path.name})


def step_convert_to_finn(ctx: BuildContext) -> StepOutcome:
    """QONNX Quant/BipolarQuant nodes -> FINN MultiThreshold + scale Mul/Add."""
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes

    with warnings.catch_warnings():
        # qonnx's layout inference notes that it takes 4D tensors as NCHW, which ours are.
        warnings.filterwarnings("ignore", message="Assuming 4D input is NCHW")
        ctx.model = ctx.model.transform(ConvertQONNXtoFINN())
        ctx.model = ctx.model.transform(InferShapes()).transform(InferDataTypes())
    ops: dict[str, int] = {}
    for n in ctx.model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    return StepOutcome("done", "", {"ops": ops})


STEPS: list[Step] = [
    Step("check_fit", step_check_fit, saves_graph=False,
         doc="weights vs the board's on-chip RAM"),
    Step("export_qonnx", step_export_qonnx, doc="Brevitas -> QONNX, cleaned"),
    Step("convert_to_finn", step_convert_to_finn, doc="QONNX -> FINN-ONNX (MultiThreshold)"),
]


"""The build's source: the network it compiles, where it came from, and whether the flow can
build it, checked before any long step.

A source is recorded as data (kind, where, sha256 of the file, config), not as a preset
name, so that the folder's state (flow/pipeline/state.py) can tell a different model from the
one a checkpoint was made of. Kinds: "preset" (a preset's shipped trained checkpoint, or its
untrained initialisation under torch seed 0), "checkpoint" (a file of this project), "qonnx"
(the user's QONNX file: `--model net.onnx`) and "module" (the user's Brevitas nn.Module in
memory, exported to QONNX by the build itself: flow/build.py `build_brevitas`).

A "qonnx" or "module" source has no HGConfig: what the steps need of it (its name, its input
shape, its weights) is read from its QONNX graph, which is checked up front
(flow/frontend/convert.py `check_source`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from brevitas_models.config import HGConfig
from brevitas_models.files import sha256_file

from .runner import BuildError

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Source:
    kind: str                    # "preset" | "checkpoint" | "qonnx" | "module"
    label: str                   # how the report and messages name it
    path: Path | None            # the file the weights came from, if any
    sha256: str | None           # of that file
    cfg: HGConfig | None         # None for a user's QONNX or module
    model: object                # the network (torch.nn.Module, eval mode), None for QONNX
    name: str = ""               # the build's name (the folder build/<name>-<board>)
    qonnx: Path | None = None    # the user's QONNX (the file, or the module's export)
    input_shape: tuple = ()      # (C, H, W) of one input frame

    def __post_init__(self):
        if self.cfg is not None:
            self.name = self.name or self.cfg.name
            self.input_shape = self.input_shape or (self.cfg.in_channels, self.cfg.input_size,
                                                    self.cfg.input_size)

    def fingerprint(self) -> dict:
        """What identifies the source among build inputs ('label' is not compared)."""
        made = {"sha256": self.sha256} if self.sha256 else {
            "init": "brevitas_models.build_model under torch.manual_seed(0)"}
        return {"kind": self.kind, "label": self.label, **made,
                "config": self.cfg.to_dict() if self.cfg else None}

    def to_report(self) -> dict:
        return {"kind": self.kind, "label": self.label,
                "path": str(self.path) if self.path else None, "sha256": self.sha256,
                **({"module_class": _class_name(self.model)} if self.kind == "module" else {})}


def _class_name(module) -> str:
    return f"{type(module).__module__}.{type(module).__qualname__}"


def is_qonnx_path(model: str | None) -> bool:
    """--model names a file (a path, or a name ending in .onnx), not a preset."""
    return bool(model) and (model.endswith(".onnx") or "/" in model or Path(model).is_file())


def load_qonnx_source(path: str | Path, kind: str = "qonnx", module=None,
                      label: str | None = None) -> Source:
    """The user's QONNX file, checked up front: it exists, is ONNX, is QONNX, and every node
    is one the flow builds (named as in the file). BuildError otherwise."""
    import onnx
    from qonnx.core.modelwrapper import ModelWrapper

    from ..frontend.convert import ConversionError
    from ..frontend.convert import check_source

    p = Path(path)
    if not p.is_file():
        from brevitas_models.config import PRESETS

        raise BuildError(f"--model '{path}': no such file (a QONNX file, or a preset: "
                         f"{', '.join(PRESETS)})")
    try:
        proto = onnx.load(str(p))
    except Exception as e:  # noqa: BLE001 - protobuf's errors say little; say what it is
        raise BuildError(f"--model '{path}': not an ONNX file ({type(e).__name__}: {e}); "
                         "give a QONNX export (brevitas.export.export_qonnx)") from None
    try:
        _, _, enc = check_source(ModelWrapper(proto))
    except ConversionError as e:
        raise BuildError(f"--model '{path}': {e}") from None
    sha = sha256_file(p)
    name = p.name[:-len(".onnx")] if p.name.endswith(".onnx") else p.stem
    name = name[:-len(".qonnx")] if name.endswith(".qonnx") else name
    label = label or f"QONNX {p} (sha256 {sha[:12]})"
    return Source(kind, label, p.resolve(), sha, None, module, name=name, qonnx=p.resolve(),
                  input_shape=enc.shape)


def load_source(preset: str | None, checkpoint: str | None, untrained: bool) -> Source:
    """The network of --model PRESET [--untrained] or --checkpoint FILE (CheckpointError or
    ConfigError when it cannot be read)."""
    from brevitas_models.checkpoint import load_checkpoint
    from brevitas_models.checkpoint import load_preset
    from brevitas_models.checkpoint import pretrained_checkpoint
    from brevitas_models.config import DEFAULT_PRESET
    from brevitas_models.config import ConfigError

    if is_qonnx_path(preset):
        if untrained:
            raise ConfigError("--untrained goes with a preset, not with a QONNX file")
        return load_qonnx_source(preset)
    if checkpoint:
        if untrained:
            raise ConfigError("--untrained goes with --model, not with --checkpoint")
        model, cfg = load_checkpoint(checkpoint)
        path = Path(checkpoint)
        return Source("checkpoint", f"checkpoint {checkpoint}", path.resolve(),
                      sha256_file(path), cfg, model)
    name = preset or DEFAULT_PRESET
    model, cfg, label = load_preset(name, trained=not untrained)
    shipped = pretrained_checkpoint(name) if not untrained else None
    return Source("preset", label, shipped, sha256_file(shipped) if shipped else None, cfg,
                  model)


def check_buildable(source: Source) -> None:
    """Refuse, before any step, a network the hardware flow cannot build, naming the config
    field or the tensor and what to change."""
    from brevitas_models.checkpoint import CheckpointError
    from brevitas_models.checkpoint import check_finite

    from ..frontend.convert import MAX_ACTIVATION_BITS
    from ..frontend.convert import MIN_ACTIVATION_BITS

    if source.cfg is None:
        # a QONNX source: load_qonnx_source checked its graph; a module's slopes too
        if source.model is not None:
            _check_monotone(source.model, source.label)
        return
    cfg, where = source.cfg, f"{source.label} (config '{source.cfg.name}')"
    if not cfg.binary:
        raise BuildError(f"{where}: weights={cfg.weights!r}, acts={cfg.acts!r}: only binary "
                         "weights and activations build to hardware (real ones are training "
                         "stages and ablation baselines)")
    if cfg.res_bits is None:
        raise BuildError(f"{where}: res_bits=None is a float residual stream, which has no "
                         f"integer hardware; train with --res-bits {MIN_ACTIVATION_BITS}.."
                         f"{MAX_ACTIVATION_BITS}")
    if not MIN_ACTIVATION_BITS <= cfg.res_bits <= MAX_ACTIVATION_BITS:
        raise BuildError(f"{where}: res_bits={cfg.res_bits}: the flow builds residual streams "
                         f"of {MIN_ACTIVATION_BITS} to {MAX_ACTIVATION_BITS} bits (FINN's "
                         "ConvertQONNXtoFINN turns only quantizers of at most "
                         f"{MAX_ACTIVATION_BITS} bits into thresholds); train with --res-bits "
                         f"{MAX_ACTIVATION_BITS} or less")
    try:
        check_finite(source.model.state_dict(), source.label)
    except CheckpointError as e:
        raise BuildError(str(e)) from None
    _check_monotone(source.model, where)


def _check_monotone(model, where: str) -> None:
    """The non-linearity after a binary conv folds into thresholds only where it is
    non-decreasing: refuse negative PReLU / LeakyReLU slopes, naming the module."""
    import torch
    from torch import nn

    for name, m in model.named_modules():
        if isinstance(m, nn.PReLU):
            neg = torch.nonzero(m.weight.detach() < 0).flatten().tolist()
            if neg:
                raise BuildError(f"{where}: PReLU '{name}' has negative slopes (channel(s) "
                                 f"{neg[:8]}): the hardware folds a non-linearity into "
                                 "thresholds only where it is non-decreasing; train with the "
                                 "slopes kept >= 0 (brevitas_models.train does)")
        elif isinstance(m, nn.LeakyReLU) and m.negative_slope < 0:
            raise BuildError(f"{where}: LeakyReLU '{name}' has the negative slope "
                             f"{m.negative_slope:g}; the hardware needs a non-decreasing "
                             "non-linearity")

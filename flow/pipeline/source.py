"""The build's source: the network it compiles, where it came from, and whether the flow can
build it, checked before any long step.

A source is recorded as data (kind, where, sha256 of the file, config), not as a preset
name, so that the folder's state (flow/pipeline/state.py) can tell a different model from the
one a checkpoint was made of. Kinds: "preset" (a preset's shipped trained checkpoint, or its
untrained initialisation under torch seed 0) and "checkpoint" (a file of this project); a
QONNX file or a torch module would be kinds of their own.
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
    kind: str                    # "preset" | "checkpoint"
    label: str                   # how the report and messages name it
    path: Path | None            # the file the weights came from, if any
    sha256: str | None           # of that file
    cfg: HGConfig
    model: object                # the network (torch.nn.Module, eval mode)

    def fingerprint(self) -> dict:
        """What identifies the source among build inputs ('label' is not compared)."""
        made = {"sha256": self.sha256} if self.sha256 else {
            "init": "brevitas_models.build_model under torch.manual_seed(0)"}
        return {"kind": self.kind, "label": self.label, **made, "config": self.cfg.to_dict()}

    def to_report(self) -> dict:
        return {"kind": self.kind, "label": self.label,
                "path": str(self.path) if self.path else None, "sha256": self.sha256}


def load_source(preset: str | None, checkpoint: str | None, untrained: bool) -> Source:
    """The network of --model PRESET [--untrained] or --checkpoint FILE (CheckpointError or
    ConfigError when it cannot be read)."""
    from brevitas_models.checkpoint import load_checkpoint
    from brevitas_models.checkpoint import load_preset
    from brevitas_models.checkpoint import pretrained_checkpoint
    from brevitas_models.config import DEFAULT_PRESET
    from brevitas_models.config import ConfigError

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

"""One description per hardware layer kind: parameters, integer semantics, cycles, resources.

The golden model (`flow/golden.py`), folding, FIFO sizing and reports read only these classes;
the RTL and HLS generators of later stages implement the same `execute` semantics. Each kind
lives in its own module; `KINDS` maps the hardware graph's op type to its description.
"""
from __future__ import annotations

from .base import Layer
from .base import Resources
from .add import AddStreams
from .concat import Concat
from .duplicate import Duplicate
from .fifo import Fifo
from .int_mvtu import IntMVTU
from .maxpool import MaxPool
from .slice_channels import SliceChannels
from .sliding_window import SlidingWindow
from .thresholding import Thresholding
from .upsample import Upsample
from .xnor_mvtu import XnorMVTU

KINDS: dict[str, Layer] = {k.kind: k for k in (
    Thresholding(), SlidingWindow(), XnorMVTU(), IntMVTU(), MaxPool(), Upsample(), Concat(),
    AddStreams(), Duplicate(), SliceChannels(), Fifo())}


def layer_of(node) -> Layer:
    from ..hwgraph import GraphError

    try:
        return KINDS[node.kind]
    except KeyError:
        raise GraphError(f"node '{node.name}': unknown hardware layer kind '{node.kind}'; "
                         f"known: {', '.join(KINDS)}") from None


__all__ = ["KINDS", "Layer", "Resources", "layer_of"]

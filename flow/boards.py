"""Target boards: FPGA part, fabric resources and default clock."""
from __future__ import annotations

from dataclasses import asdict
from dataclasses import dataclass


class BoardError(ValueError):
    pass


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    family: str          # "zynq-7000" or "zynq-ultrascale+": selects the PYNQ shell and DMA
    lut: int
    ff: int
    bram36: int          # 36 Kbit block RAMs
    uram: int            # 288 Kbit UltraRAMs (UltraScale+ only)
    dsp: int
    clock_mhz: float     # default fabric clock of the generated accelerator

    @property
    def onchip_bits(self) -> int:
        """Block RAM + UltraRAM capacity in bits."""
        return self.bram36 * 36 * 1024 + self.uram * 288 * 1024

    def to_dict(self) -> dict:
        return asdict(self)


# Resource figures from the vendors' product tables for each part.
BOARDS: dict[str, Board] = {b.name: b for b in (
    Board("pynq-z1", "xc7z020clg400-1", "zynq-7000", 53200, 106400, 140, 0, 220, 100.0),
    Board("pynq-z2", "xc7z020clg400-1", "zynq-7000", 53200, 106400, 140, 0, 220, 100.0),
    Board("ultra96-v2", "xczu3eg-sbva484-1-i", "zynq-ultrascale+", 70560, 141120, 216, 0, 360,
          200.0),
    Board("zcu104", "xczu7ev-ffvc1156-2-e", "zynq-ultrascale+", 230400, 460800, 312, 96, 1728,
          200.0),
    Board("kv260", "xck26-sfvc784-2LV-c", "zynq-ultrascale+", 117120, 234240, 144, 64, 1248,
          200.0),
)}


def get_board(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise BoardError(f"unknown board '{name}'; known boards: {', '.join(BOARDS)}") from None

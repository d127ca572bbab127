"""Static timing estimate of a synthesized design: the longest paths inside every module and
across the stitched top, from Yosys' `synth_xilinx` netlists and a delay model per family.

Yosys 0.23 has `ltp` (the longest topological path, in cells, of a flattened module) and
`sta` (which needs timing on every cell type and a flattened design); neither composes across
a hierarchy or knows routing. So this module reads the netlists (`write_json`) itself:

* A **delay model** per family (`MODELS`): LUT, carry-chain, flip-flop, LUT-RAM/SRL, block RAM
  and DSP delays from published figures, and a routing delay per net that grows with the
  log of its fan-out (no placement exists; see `DelayModel`). Every figure says where it
  comes from.
* **Per module**, bottom-up: each cell is a timing arc (a LUT from every input to its
  output, a carry from CI to CO, a DSP from A/B/C to P when its registers are off...) or a
  sequential start/end point (flip-flops, memory read registers, DSP pipeline registers).
  Arrival times propagate over the netlist's DAG; a submodule instance is one cell whose
  timing is its own *extracted model* (`ModuleTiming`): its worst reg->reg path inside, and
  per port group the delay from the port to its registers (in->reg), from its registers to
  the port (reg->out) and from port to port (in->out, a combinational path through it).
  One routing delay is charged per connection, on the side of the load: a port's net to the
  cells inside a submodule is routed inside it, a submodule's output is charged no route
  at the port.
* **The stitched top** is the same analysis on the top module, whose instances are the
  layer instances: the paths there are the ones that cross modules (a tready chain through
  a threshold and an MVTU that passes it on combinationally, say), each listed with the
  instances it runs through.

The result is an estimate, not sign-off: routing is guessed from fan-out, Vivado will
replicate high-fan-out nets, retime and pack differently, and Yosys' netlist is not
Vivado's. Its purpose is to find paths that are structurally too long (many logic levels,
long carry chains, unregistered DSPs, long combinational chains between modules) before a
Vivado run, and to place register slices where chains between modules are too long.
"""
from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field


class TimingError(ValueError):
    """A netlist the analysis cannot read; the message names the module and cell."""


# -- the delay models --------------------------------------------------------------------------

@dataclass(frozen=True)
class DelayModel:
    """Delays in ns of one family and speed grade (worst case, slow corner)."""
    name: str
    lut: float                 # any LUT input to its output (also a LUT-RAM/SRL read)
    muxf_data: float           # MUXF7/F8 data input to output (after the LUTs, in the slice)
    muxf_select: float         # MUXF7/F8 select to output
    carry_ci_co: float         # one CARRY4: CI to CO (the ripple between blocks)
    carry_ci_o: float          # CI to a sum output O
    carry_in_co: float         # S/DI/CYINIT to CO (entering the chain)
    carry_in_o: float          # S/DI/CYINIT to O
    ff_clk_q: float            # flip-flop clock to Q
    ff_setup_d: float
    ff_setup_ce: float
    ff_setup_sr: float         # synchronous set/reset
    lutram_clk_o: float        # LUT-RAM write clock to its outputs
    lutram_setup: float        # LUT-RAM write address/data/enable setup (worst)
    srl_clk_q: float
    srl_setup: float
    bram_clk_do: float         # block RAM clock to DO, output register off
    bram_clk_do_reg: float     # ... output register on
    bram_setup: float          # address/enable/data/write-enable setup (worst)
    dsp_setup_reg: float       # setup of an input register (AREG/BREG/CREG/DREG)
    dsp_in_m: float            # A/B/D to the MREG (input unregistered)
    dsp_in_p_mult: float       # A/B/D through the multiplier to the PREG (no MREG)
    dsp_in_p: float            # C (or A:B without multiplier) to the PREG
    dsp_m_p: float             # MREG to P output with PREG off (clock to out)
    dsp_in_reg_p: float        # A/B register through the multiplier to P, PREG/MREG off
    dsp_clk_p: float           # PREG clock to P
    route_base: float          # a net of fan-out 1
    route_per_log2_fanout: float   # more per doubling of the fan-out
    clock_margin: float        # clock uncertainty and skew kept aside from every period
    sources: tuple[str, ...] = ()

    def route(self, fanout: int) -> float:
        return self.route_base + self.route_per_log2_fanout * math.log2(max(1, fanout))

    def to_dict(self) -> dict:
        return asdict(self)


# 7-series, speed grade -1 (the xc7z020-1 of the PYNQ-Z1/Z2). The slice figures are Project
# X-Ray's (prjxray-db zynq7/timings/CLBLL_L.sdf, slow corner, max), which it extracted from
# Vivado for the Zynq-7000 -1: LUT6 any input to O6 0.124 (= DS187's T_ILO), CARRY4 CIN to CO3
# 0.114, CIN to O3 0.313, S0 to CO3 0.508, CYINIT to CO3 0.580, S1 to O3 0.618, F7 mux select
# 0.276 and data 0.193, flip-flop clock to Q 0.340 (REG_INIT), CE setup 0.109, synchronous
# reset 0.404; the D setup is negative there (-0.046), 0.06 is kept. LUT-RAM, SRL and DSP48E1
# figures are Yosys' own timing annotations (share/yosys/xilinx/cells_sim.v, likewise from
# prjxray-db artix7): RAM32M write clock to DO 1.153, WE setup 0.654; SRL clock to Q 1.472,
# D setup 0.173; DSP48E1 A setup into AREG 0.254 (B 0.324), A to MREG 1.416, A through the
# multiplier to PREG 2.739, C to PREG 1.244, MREG to P (PREG off) 1.671, AREG to P 2.952,
# PREG clock to P 0.329. Block RAM clock to DOUT 2.454 without and 0.882 with the output
# register (prjxray-db artix7, RAMB18TDP DOA_REG 0/1, slow max; DS181/DS187 give T_RCKO_DO
# for -1 alike); its input setup 0.6 is DS187's order of magnitude for ADDR/WE/EN (T_RCCK_*).
# Routing: 0.5 ns for a local net (FloPoCo's Zynq7000 target, "typicalLocalRoutingDelay",
# from Vivado reports of xc7z020-1) plus 0.196 ns per doubling of the fan-out, which puts a
# fan-out of 200 at 2 ns as FloPoCo's data point does.
XC7 = DelayModel(
    name="7-series, speed grade -1 (xc7z020-1)", lut=0.124, muxf_data=0.193, muxf_select=0.276,
    carry_ci_co=0.114, carry_ci_o=0.313, carry_in_co=0.580, carry_in_o=0.618,
    ff_clk_q=0.340, ff_setup_d=0.06, ff_setup_ce=0.109, ff_setup_sr=0.404,
    lutram_clk_o=1.153, lutram_setup=0.654, srl_clk_q=1.472, srl_setup=0.173,
    bram_clk_do=2.454, bram_clk_do_reg=0.882, bram_setup=0.6,
    dsp_setup_reg=0.324, dsp_in_m=1.416, dsp_in_p_mult=2.739, dsp_in_p=1.244, dsp_m_p=1.671,
    dsp_in_reg_p=2.952, dsp_clk_p=0.329,
    route_base=0.5, route_per_log2_fanout=0.196, clock_margin=0.1,
    sources=("prjxray-db zynq7/timings/CLBLL_L.sdf (Project X-Ray, from Vivado, -1 slow max)",
             "Yosys 0.23 share/yosys/xilinx/cells_sim.v specify blocks (prjxray-db artix7)",
             "prjxray-db artix7 RAMB18TDP DOA_REG timing; AMD DS187 (Zynq-7000 data sheet)",
             "FloPoCo Zynq7000 target (xc7z020clg484-1): routing 0.5 ns, 2 ns at fan-out 200"))

# UltraScale+, speed grade -2 (the xczu7ev-2 of the ZCU104, xck26-2LV of the KV260). Slice
# figures from FloPoCo's VirtexUltrascalePlus target (xcvu3p-2, cut from Vivado reports):
# LUT6 0.148, flip-flop clock to Q 0.150, CARRY8 CIN to COUT 0.015 (per CARRY8; Yosys 0.23
# emits CARRY4s, which Vivado packs two to a CARRY8, so 0.015 is charged per CARRY4, on the
# safe side), S into the chain 0.115, CIN to O 0.116; routing 0.18 ns local there, 0.3 kept
# here, and "1.5 ns at fan-out 65", which 0.2 ns per doubling gives. The DSP48E2 figures are
# the 7-series ones scaled by the ratio of AMD DS925's FMAX_MULT_NOMREG (-2, 544 MHz: 1.84 ns
# for AREG -> multiplier -> PREG) to the 7-series model's same path (0.3 + 2.739 = 3.04 ns),
# 0.605; block RAM and LUT-RAM are scaled alike (no US+ clock-to-out figure was at hand:
# marked as scaled estimates). Flip-flop setup times are estimates of the same order.
XCUP = DelayModel(
    name="UltraScale+, speed grade -2 (xczu7ev-2, xck26-2LV)", lut=0.148, muxf_data=0.12,
    muxf_select=0.17, carry_ci_co=0.015, carry_ci_o=0.116, carry_in_co=0.245, carry_in_o=0.25,
    ff_clk_q=0.150, ff_setup_d=0.05, ff_setup_ce=0.10, ff_setup_sr=0.25,
    lutram_clk_o=0.70, lutram_setup=0.40, srl_clk_q=0.89, srl_setup=0.11,
    bram_clk_do=1.485, bram_clk_do_reg=0.534, bram_setup=0.36,
    dsp_setup_reg=0.196, dsp_in_m=0.857, dsp_in_p_mult=1.657, dsp_in_p=0.753, dsp_m_p=1.011,
    dsp_in_reg_p=1.786, dsp_clk_p=0.199,
    route_base=0.3, route_per_log2_fanout=0.2, clock_margin=0.1,
    sources=("FloPoCo VirtexUltrascalePlus target (xcvu3p-2, from Vivado reports)",
             "AMD DS925 (Zynq UltraScale+ data sheet), DSP48 FMAX_MULT_NOMREG -2: 544 MHz",
             "DSP, block RAM and LUT-RAM: the 7-series figures x 0.605 (see flow/measure/"
             "timing.py)"))

MODELS = {"xc7": XC7, "xcup": XCUP}


def delay_model(family: str) -> DelayModel:
    """The model of a synth_xilinx family ('xc7', 'xcup')."""
    try:
        return MODELS[family]
    except KeyError:
        raise ValueError(f"no delay model for family '{family}'; known: {', '.join(MODELS)}") \
            from None


# -- cell timing -------------------------------------------------------------------------------

@dataclass
class CellTiming:
    """One cell: clock-to-out of its outputs that start paths (`launch`), setup of its inputs
    that end them (`capture`), combinational arcs (in port, out port, delay), inputs fed by
    a dedicated wire (no routing), and what it counts as on a path (`kind`)."""
    launch: dict[str, float] = field(default_factory=dict)
    capture: dict[str, float] = field(default_factory=dict)
    arcs: list[tuple[str, str, float]] = field(default_factory=list)
    dedicated: frozenset = frozenset()
    kind: str = ""               # "lut", "carry", "muxf", "dsp", "lutram", "" (no level)
    transparent: bool = False    # an inverter: Vivado folds it into the LUT it feeds


LUTS = {"LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6"}
FFS_SYNC = {"FDRE": "R", "FDSE": "S", "FDRE_1": "R", "FDSE_1": "S"}
FFS_ASYNC = {"FDCE": "CLR", "FDPE": "PRE", "FDCE_1": "CLR", "FDPE_1": "PRE"}
CLOCK_PINS = {"C", "CLK", "WCLK", "CLKARDCLK", "CLKBWRCLK", "CLKA", "CLKB", "RDCLK", "WRCLK"}
# LUT-RAM: read address pins -> data outputs (combinational), everything else written on the
# clock. RAM32M/RAM64M ports A..D read at ADDRA..ADDRD (ADDRD is also the write address).
LUTRAM = {"RAM16X1S", "RAM32X1S", "RAM64X1S", "RAM128X1S", "RAM256X1S", "RAM512X1S",
          "RAM16X1D", "RAM32X1D", "RAM64X1D", "RAM128X1D", "RAM256X1D",
          "RAM32M", "RAM64M", "RAM32M16", "RAM64M8", "RAM64X8SW", "RAM32X16DR8"}
SRLS = {"SRL16", "SRL16E", "SRLC16", "SRLC16E", "SRLC32E"}
BRAMS = {"RAMB18E1", "RAMB36E1", "RAMB18E2", "RAMB36E2", "FIFO18E1", "FIFO36E1", "FIFO18E2",
         "FIFO36E2", "URAM288", "URAM288_BASE"}
DSPS = {"DSP48E1", "DSP48E2"}
CONSTANTS = {"GND", "VCC"}


def _param_int(params: dict, name: str, default: int = 0) -> int:
    v = params.get(name)
    if v is None:
        return default
    if isinstance(v, int):
        return v
    s = str(v)
    return int(s, 2) if set(s) <= {"0", "1"} and s else default


def _param_str(params: dict, name: str, default: str = "") -> str:
    """A string parameter in Yosys' JSON: the text itself, or its bits as a binary number."""
    v = params.get(name)
    if v is None:
        return default
    s = str(v)
    if s and set(s) <= {"0", "1"} and len(s) % 8 == 0:
        raw = int(s, 2).to_bytes(len(s) // 8, "big")
        return raw.decode("latin-1").lstrip("\0").strip()
    return s.strip()


def _lutram_timing(ports: dict[str, str], m: DelayModel) -> CellTiming:
    outs = [p for p, d in ports.items() if d == "output"]
    ins = [p for p, d in ports.items() if d == "input" and p not in CLOCK_PINS]
    t = CellTiming(kind="lutram")
    for o in outs:
        t.launch[o] = m.lutram_clk_o
        if o in ("SPO", "O") or o.startswith("O") and len(o) <= 2:
            rd = [p for p in ins if p == "A" or re.fullmatch(r"A\d+|A\[\d+\]", p)]
        elif o == "DPO":
            rd = [p for p in ins if p.startswith("DPRA")]
        elif o.startswith("DO"):
            rd = [p for p in ins if p == "ADDR" + o[2:3]]
        else:
            rd = []
        t.arcs += [(a, o, m.lut) for a in rd]
    for i in ins:
        t.capture[i] = m.lutram_setup
    return t


def _dsp_timing(params: dict, ports: dict[str, str], m: DelayModel) -> CellTiming:
    """DSP48E1/E2 by its register configuration (AREG..PREG) and use of the multiplier."""
    areg, breg = _param_int(params, "AREG", 1), _param_int(params, "BREG", 1)
    creg, dreg = _param_int(params, "CREG", 1), _param_int(params, "DREG", 1)
    mreg, preg = _param_int(params, "MREG", 1), _param_int(params, "PREG", 1)
    mult = _param_str(params, "USE_MULT", "MULTIPLY") != "NONE"
    t = CellTiming(kind="dsp")
    outs = [p for p, d in ports.items() if d == "output"]
    p_outs = [o for o in outs if o in ("P", "PCOUT", "CARRYOUT", "CARRYCASCOUT",
                                       "PATTERNDETECT", "PATTERNBDETECT", "OVERFLOW",
                                       "UNDERFLOW", "XOROUT", "MULTSIGNOUT")]
    # the start points of P: its own register, else the last register before it
    if preg:
        launch_p = m.dsp_clk_p
    elif mreg and mult:
        launch_p = m.dsp_m_p
    elif areg or breg or creg or dreg:
        launch_p = m.dsp_in_reg_p
    else:
        launch_p = None
    for o in p_outs:
        if launch_p is not None:
            t.launch[o] = launch_p
    for o in ("ACOUT", "BCOUT"):
        if o in outs:
            t.launch[o] = m.dsp_clk_p
    regs = {"A": areg, "ACIN": areg, "B": breg, "BCIN": breg, "C": creg, "D": dreg}
    multiplied = {"A", "ACIN", "B", "BCIN", "D"} if mult else set()
    for i, reg in regs.items():
        if i not in ports:
            continue
        if reg:
            t.capture[i] = m.dsp_setup_reg
        elif i in multiplied and mreg:
            t.capture[i] = m.dsp_in_m
        elif preg:
            t.capture[i] = m.dsp_in_p_mult if i in multiplied else m.dsp_in_p
        else:
            d = (m.dsp_in_p_mult if i in multiplied else m.dsp_in_p) - m.ff_setup_d
            t.arcs += [(i, o, d) for o in p_outs]
    # control inputs (OPMODE, ALUMODE, CE*, RST*, INMODE, CARRYIN...) end at registers
    for i, d in ports.items():
        if d == "input" and i not in regs and i not in CLOCK_PINS and i not in t.capture:
            t.capture[i] = m.dsp_setup_reg
    t.dedicated = frozenset({"ACIN", "BCIN", "PCIN", "CARRYCASCIN", "MULTSIGNIN"})
    return t


def primitive_timing(cell_type: str, params: dict, ports: dict[str, str],
                     m: DelayModel) -> CellTiming | None:
    """Timing of a Xilinx primitive, or None when the type is not one this module knows."""
    t = cell_type
    if t in LUTS or t == "LUT6_2" or t == "CFGLUT5":
        ins = [p for p, d in ports.items() if d == "input" and p not in CLOCK_PINS]
        outs = [p for p, d in ports.items() if d == "output"]
        return CellTiming(arcs=[(i, o, m.lut) for i in ins for o in outs], kind="lut")
    if t in ("INV", "BUF"):
        return CellTiming(arcs=[("I", "O", 0.0)], transparent=True)
    if t in ("MUXF7", "MUXF8", "MUXF9"):
        return CellTiming(arcs=[("I0", "O", m.muxf_data), ("I1", "O", m.muxf_data),
                                ("S", "O", m.muxf_select)],
                          dedicated=frozenset({"I0", "I1"}), kind="muxf")
    if t in ("CARRY4", "CARRY8"):
        arcs = [("CI", "CO", m.carry_ci_co), ("CI", "O", m.carry_ci_o)]
        for p in ("S", "DI", "CYINIT", "CI_TOP"):
            if p in ports:
                arcs += [(p, "CO", m.carry_in_co), (p, "O", m.carry_in_o)]
        return CellTiming(arcs=arcs, dedicated=frozenset({"CI"}), kind="carry")
    if t in FFS_SYNC or t in FFS_ASYNC or t in ("LDCE", "LDPE"):
        sr = FFS_SYNC.get(t)
        cap = {"D": m.ff_setup_d, "CE": m.ff_setup_ce}
        if sr:
            cap[sr] = m.ff_setup_sr
        return CellTiming(launch={"Q": m.ff_clk_q}, capture=cap)
    if t in LUTRAM:
        return _lutram_timing(ports, m)
    if t in SRLS:
        addr = [p for p in ports if re.fullmatch(r"A\d*", p)]
        outs = [p for p, d in ports.items() if d == "output"]
        return CellTiming(launch={o: m.srl_clk_q for o in outs},
                          capture={"D": m.srl_setup, "CE": m.ff_setup_ce},
                          arcs=[(a, "Q", m.lut) for a in addr], kind="lutram")
    if t in BRAMS:
        outs = [p for p, d in ports.items() if d == "output"]
        ins = [p for p, d in ports.items() if d == "input" and p not in CLOCK_PINS]
        reg_a = _param_int(params, "DOA_REG", 0) or _param_int(params, "DO_REG", 0)
        reg_b = _param_int(params, "DOB_REG", 0) or _param_int(params, "DO_REG", 0)
        launch = {}
        for o in outs:
            reg = reg_b if o.startswith(("DOB", "DOPB", "DOUTB")) else reg_a
            launch[o] = m.bram_clk_do_reg if reg else m.bram_clk_do
        return CellTiming(launch=launch, capture={i: m.bram_setup for i in ins})
    if t in DSPS:
        return _dsp_timing(params, ports, m)
    if t in CONSTANTS:
        return CellTiming()
    return None


# -- port groups -------------------------------------------------------------------------------

def port_groups(widths: dict[str, int]) -> dict[str, int]:
    """How many groups each port splits into: a packed stream port (`<prefix>_tdata`,
    `_tvalid`, `_tready` carrying N streams, N = the width of `<prefix>_tvalid`) into its N
    streams, every other port into one."""
    out = {}
    for p, width in widths.items():
        mt = re.fullmatch(r"(.*)_(tdata|tvalid|tready)", p)
        n = widths.get(f"{mt.group(1)}_tvalid", 1) if mt else 1
        out[p] = n if n > 1 and width % n == 0 else 1
    return out


def group_name(port: str, index: int, groups: int) -> str:
    return f"{port}[{index}]" if groups > 1 else port


def split_group(name: str) -> tuple[str, int | None]:
    mt = re.fullmatch(r"(.*)\[(\d+)\]", name)
    return (mt.group(1), int(mt.group(2))) if mt else (name, None)


def group_bits(bits: list, n: int) -> list[list]:
    per = len(bits) // n
    return [bits[j * per:(j + 1) * per] for j in range(n)]


# -- paths and extracted models ----------------------------------------------------------------

@dataclass
class Path:
    """One timing path: its delay (clock-to-out, logic, routing and setup), where it starts and
    ends, what it runs through and the named nets (wires) on the way."""
    delay: float
    start: str
    end: str
    cells: dict[str, int] = field(default_factory=dict)    # primitive types on the path
    through: list[str] = field(default_factory=list)       # submodule arcs it crosses
    nets: list[tuple[str, float]] = field(default_factory=list)   # (wire, arrival) in order

    @property
    def levels(self) -> int:
        """Logic levels as Vivado counts them: LUTs, MUXF7/8, CARRY4s, LUT-RAM reads."""
        return sum(n for t, n in self.cells.items()
                   if t in LUTS or t.startswith(("LUT6_2", "MUXF", "CARRY")) or t in LUTRAM
                   or t in SRLS)

    @property
    def comb_modules(self) -> int:
        """How many module instances the path passes through combinationally."""
        return sum("->" in x and "/" not in x.split(":", 1)[0] for x in self.through)

    def to_dict(self) -> dict:
        carry = sum(n for t, n in self.cells.items() if t.startswith("CARRY"))
        dsp = sum(n for t, n in self.cells.items() if t in DSPS)
        luts = sum(n for t, n in self.cells.items() if t in LUTS or t == "LUT6_2")
        return {"delay_ns": round(self.delay, 3), "from": self.start, "to": self.end,
                "levels": self.levels, "luts": luts, "carry4": carry, "dsp": dsp,
                "cells": dict(sorted(self.cells.items())), "through": list(self.through),
                "nets": [[n, round(t, 3)] for n, t in self.nets]}

    @staticmethod
    def from_dict(d: dict) -> "Path":
        return Path(d["delay_ns"], d["from"], d["to"], dict(d.get("cells", {})),
                    list(d.get("through", [])), [tuple(x) for x in d.get("nets", [])])


@dataclass
class ModuleTiming:
    """The extracted timing model of a module: what a parent sees of it, and its worst paths
    inside (register to register, `paths[0]` the worst)."""
    module: str
    groups: dict[str, int]                      # port -> groups (see port_groups)
    paths: list[Path]
    in_to_reg: dict[str, Path]                  # per input group: to its worst register
    reg_to_out: dict[str, Path]                 # per output group: from its worst register
    in_to_out: dict[str, dict[str, Path]]       # input group -> output group
    carry_chain: int = 0                        # longest chain of CARRY4s (cells)
    dsp_stages: int = 0                         # most pipeline registers of one DSP
    unknown_cells: dict[str, int] = field(default_factory=dict)

    @property
    def internal(self) -> Path | None:
        return self.paths[0] if self.paths else None

    def to_dict(self) -> dict:
        return {"module": self.module, "groups": dict(self.groups),
                "paths": [p.to_dict() for p in self.paths],
                "in_to_reg": {k: v.to_dict() for k, v in self.in_to_reg.items()},
                "reg_to_out": {k: v.to_dict() for k, v in self.reg_to_out.items()},
                "in_to_out": {k: {o: p.to_dict() for o, p in v.items()}
                              for k, v in self.in_to_out.items()},
                "carry_chain": self.carry_chain, "dsp_stages": self.dsp_stages,
                "unknown_cells": dict(self.unknown_cells)}

    @staticmethod
    def from_dict(d: dict) -> "ModuleTiming":
        p = Path.from_dict
        return ModuleTiming(
            d["module"], dict(d["groups"]), [p(x) for x in d["paths"]],
            {k: p(v) for k, v in d["in_to_reg"].items()},
            {k: p(v) for k, v in d["reg_to_out"].items()},
            {k: {o: p(x) for o, x in v.items()} for k, v in d["in_to_out"].items()},
            d.get("carry_chain", 0), d.get("dsp_stages", 0), dict(d.get("unknown_cells", {})))


def _as_cell(sub: ModuleTiming) -> CellTiming:
    """A submodule instance as one cell, at the granularity of its port groups."""
    return CellTiming(
        launch={g: p.delay for g, p in sub.reg_to_out.items()},
        capture={g: p.delay for g, p in sub.in_to_reg.items()},
        arcs=[(i, o, p.delay) for i, outs in sub.in_to_out.items() for o, p in outs.items()])


# -- the analysis of one module ----------------------------------------------------------------

REG = "reg"        # the source of the paths that start at a register
# Bump when the analysis changes: cached timing models are then recomputed from the netlists.
TIMING_FORMAT = 3


def _is_blackbox(mod: dict) -> bool:
    v = str(mod.get("attributes", {}).get("blackbox", "0"))
    return bool(int(v, 2)) if set(v) <= {"0", "1"} and v else False


def analyze_module(name: str, mod: dict, models: dict[str, ModuleTiming], m: DelayModel,
                   sub_key=None, keep: int = 1, inner: bool = True) -> ModuleTiming:
    """The timing model of module `name` (its Yosys JSON `mod`). A cell whose type (or
    `sub_key(cell_name, cell)`) is in `models` is a submodule timed by its model; the others
    are primitives (`primitive_timing`). `keep`: how many of the worst register-to-register
    paths (one per endpoint cell) to keep in `paths`; `inner`: count the paths that lie
    wholly inside a submodule among them (not for the stitched top, whose instances are
    reported one by one)."""
    widths = {p: len(v["bits"]) for p, v in mod.get("ports", {}).items()}
    groups = port_groups(widths)
    cells = mod.get("cells", {})
    ctype = {c: v["type"] for c, v in cells.items()}

    # every cell's timing, and the loads of every net bit
    timing: dict[str, CellTiming] = {}
    subs: dict[str, ModuleTiming] = {}
    loads: dict[int, int] = {}
    unknown: Counter = Counter()
    carry_chain = dsp_stages = 0
    carries = {}
    for cname, cell in cells.items():
        dirs = cell.get("port_directions")
        if dirs is None:
            raise TimingError(f"module '{name}', cell '{cname}' ({cell['type']}): no port "
                              "directions in the netlist (is its module missing?)")
        key = sub_key(cname, cell) if sub_key else cell["type"]
        if key in models:
            sub = subs[cname] = models[key]
            t = _as_cell(sub)
            carry_chain = max(carry_chain, sub.carry_chain)
            dsp_stages = max(dsp_stages, sub.dsp_stages)
            unknown.update(sub.unknown_cells)
        else:
            t = primitive_timing(cell["type"], cell.get("parameters", {}), dirs, m)
            if t is None:       # counted, and its outputs taken as launched at the clock edge
                unknown[cell["type"]] += 1
                t = CellTiming(launch={p: 0.0 for p, d in dirs.items() if d == "output"})
            if cell["type"] in DSPS:
                prm = cell.get("parameters", {})
                dsp_stages = max(dsp_stages, sum(_param_int(prm, r, 1) > 0
                                                 for r in ("AREG", "MREG", "PREG")))
            if cell["type"].startswith("CARRY"):
                c = cell["connections"]
                carries[cname] = (c.get("CI", []), c.get("CO", []))
        timing[cname] = t
        for p, bits in cell["connections"].items():
            if dirs.get(p) == "input" and p not in CLOCK_PINS:
                for b in bits:
                    if isinstance(b, int):
                        loads[b] = loads.get(b, 0) + 1
    if carries:
        carry_chain = max(carry_chain, _longest_carry_chain(carries))

    # the DAG: nodes are net bits (ints >= 0) and one node per cell arc (< 0)
    succ: dict[int, list[tuple[int, float]]] = {}
    indeg: Counter = Counter()
    info: dict[int, tuple[str, str, str]] = {}
    launch: list[tuple[int, float, tuple]] = []       # (bit, clock-to-out, origin)
    capture: list[tuple[int, float, tuple]] = []      # (bit, route + setup, (cell, pin))
    next_id = [-1]

    def edge(a: int, b: int, d: float) -> None:
        succ.setdefault(a, []).append((b, d))
        indeg[b] += 1

    def route(b: int, dedicated: bool) -> float:
        return 0.0 if dedicated else m.route(loads.get(b, 1))

    for cname, cell in cells.items():
        t, conns, sub = timing[cname], cell["connections"], subs.get(cname)

        def bits_of(pin: str) -> list[int]:
            port, j = split_group(pin) if sub is not None else (pin, None)
            bits = conns.get(port, [])
            if j is not None:
                bits = group_bits(bits, sub.groups.get(port, 1))[j]
            return [b for b in bits if isinstance(b, int)]

        for pin, d in t.launch.items():
            launch += [(b, d, (cname, pin)) for b in bits_of(pin)]
        for pin, d in t.capture.items():
            # a submodule routes its ports' nets inside: no routing charged here
            capture += [(b, d + (0.0 if sub is not None else route(b, pin in t.dedicated)),
                         (cname, pin)) for b in bits_of(pin)]
        for i, o, d in t.arcs:
            ib, ob = bits_of(i), bits_of(o)
            if not ib or not ob:
                continue
            mid = next_id[0]
            next_id[0] -= 1
            info[mid] = (cname, i, o)
            for b in ib:
                free = sub is not None or t.transparent or i in t.dedicated
                edge(b, mid, d + (0.0 if free else route(b, False)))
            for b in ob:
                edge(mid, b, 0.0)

    # the module's ports: inputs start paths (one source per group), outputs end them with
    # no routing (the parent routes the net to its loads)
    port_end: list[tuple[int, str]] = []
    for p, v in mod.get("ports", {}).items():
        for j, gb in enumerate(group_bits(v["bits"], groups[p])):
            gname = group_name(p, j, groups[p])
            for b in gb:
                if not isinstance(b, int):
                    continue
                if v["direction"] == "input":
                    if p not in ("clk", "ap_clk"):
                        launch.append((b, 0.0, ("in", gname)))
                else:
                    port_end.append((b, gname))

    arrival = _propagate(succ, indeg, launch)
    names = _net_names(mod)

    def trace(node: int, src) -> tuple[str, Counter, list, list]:
        """From (node, src) back to where the path starts: (start, cells, through, nets)."""
        cnt: Counter = Counter()
        through, nets = [], []
        cur = node
        while True:
            t0, pred, origin = arrival[cur][src]
            if cur >= 0 and cur in names:
                nets.append((names[cur], t0))
            if cur in info:
                cname, i, o = info[cur]
                sub = subs.get(cname)
                if sub is None:
                    cnt[ctype[cname]] += 1
                else:
                    p = sub.in_to_out[i][o]
                    cnt.update(p.cells)
                    through.append(f"{cname}:{i}->{o}")
            if pred is None:
                break
            cur = pred
        if origin[0] == "in":
            start = f"port {origin[1]}"
        else:
            cname, pin = origin
            sub = subs.get(cname)
            if sub is not None:
                p = sub.reg_to_out[pin]
                cnt.update(p.cells)
                start = f"{cname}/{p.start}"
                through.append(f"{cname}:{pin}")
            else:        # a register: named by the net it drives where that has a name
                start = names.get(cur) or f"{cname}/{pin}"
                cnt[ctype[cname]] += 1
        through.reverse()
        nets.reverse()
        return start, cnt, through, nets

    def make_path(bit: int, src, extra: float, end) -> Path:
        start, cnt, through, nets = trace(bit, src)
        if isinstance(end, tuple):
            cname, pin = end
            sub = subs.get(cname)
            if sub is not None:
                p = sub.in_to_reg[pin]
                cnt.update(p.cells)
                through.append(f"{cname}:{pin}")
                end = f"{cname}/{p.end}"
            else:        # a register: named by its output where that has a name
                cnt[ctype[cname]] += 1
                q = [b for b in cells[cname]["connections"].get("Q", []) if isinstance(b, int)]
                end = f"{names[q[0]]} ({pin})" if q and q[0] in names else f"{cname}/{pin}"
        else:
            end = f"port {end}"
        return Path(arrival[bit][src][0] + extra, start, end, dict(cnt), through, nets)

    # the worst arrival per (source, end): register ends per capturing cell, port ends per
    # group
    worst: dict[tuple, tuple[float, int, float, object]] = {}
    for b, extra, what in capture:
        for src, (t0, _, _) in arrival.get(b, {}).items():
            key = (src, ("reg", what[0]) if src == REG else "reg")
            if key not in worst or t0 + extra > worst[key][0]:
                worst[key] = (t0 + extra, b, extra, what)
    for b, gname in port_end:
        for src, (t0, _, _) in arrival.get(b, {}).items():
            key = (src, gname)
            if key not in worst or t0 > worst[key][0]:
                worst[key] = (t0, b, 0.0, gname)

    internal = []
    in_to_reg, reg_to_out, in_to_out = {}, {}, {}
    for (src, end), (t, b, extra, what) in worst.items():
        if src == REG and isinstance(end, tuple):
            internal.append((t, b, extra, what))
            continue
        p = make_path(b, src, extra, what)
        if src == REG:
            reg_to_out[end] = p
        elif end == "reg":
            in_to_reg[src[1]] = p
        else:
            in_to_out.setdefault(src[1], {})[end] = p
    paths = [make_path(b, REG, extra, what)
             for t, b, extra, what in heapq.nlargest(keep, internal, key=lambda x: x[0])]
    if inner:
        for cname, sub in subs.items():
            for p in sub.paths:
                paths.append(Path(p.delay, f"{cname}/{p.start}", f"{cname}/{p.end}",
                                  dict(p.cells), [f"{cname}/{x}" for x in p.through]))
        paths = heapq.nlargest(keep, paths, key=lambda p: p.delay)
    return ModuleTiming(name, groups, paths, in_to_reg, reg_to_out, in_to_out, carry_chain,
                        dsp_stages, dict(unknown))


def _net_names(mod: dict) -> dict[int, str]:
    """Bit -> a readable net name ("w_x_tready", "count[3]"), public names first."""
    out: dict[int, tuple[int, str]] = {}
    for n, v in mod.get("netnames", {}).items():
        hidden = int(v.get("hide_name", 0)) or n.startswith("$")
        bits = v.get("bits", [])
        for i, b in enumerate(bits):
            if isinstance(b, int):
                label = n if len(bits) == 1 else f"{n}[{i}]"
                if b not in out or (out[b][0] and not hidden):
                    out[b] = (hidden, label)
    return {b: label for b, (hidden, label) in out.items() if not hidden}


def _longest_carry_chain(carries: dict[str, tuple[list, list]]) -> int:
    """CARRY4s linked CO[3] -> CI: the longest run."""
    by_ci = {ci[0]: c for c, (ci, co) in carries.items() if ci and isinstance(ci[0], int)}
    nxt = {c: by_ci[co[-1]] for c, (ci, co) in carries.items()
           if co and isinstance(co[-1], int) and co[-1] in by_ci}
    best = 0
    for head in set(carries) - set(nxt.values()):
        n, c, seen = 1, head, {head}
        while c in nxt and nxt[c] not in seen:
            c = nxt[c]
            seen.add(c)
            n += 1
        best = max(best, n)
    return best


def _propagate(succ: dict, indeg: Counter, launch: list) -> dict[int, dict]:
    """Latest arrival per node and source, {node: {src: (time, pred, origin)}}, in topological
    order. A loop (none in a synthesizable netlist, but port-level arcs of a submodule can
    close one) is left where Kahn's algorithm stops: its nodes keep what reached them."""
    arrival: dict[int, dict] = {}
    for b, t0, origin in launch:
        src = origin if origin[0] == "in" else REG
        a = arrival.setdefault(b, {})
        if src not in a or t0 > a[src][0]:
            a[src] = (t0, None, origin)
    deg = dict(indeg)
    ready = [n for n in set(succ) | set(arrival) if deg.get(n, 0) == 0]
    while ready:
        n = ready.pop()
        an = arrival.get(n)
        for s, d in succ.get(n, ()):
            if an:
                a = arrival.setdefault(s, {})
                for src, (t0, _, origin) in an.items():
                    if src not in a or t0 + d > a[src][0]:
                        a[src] = (t0 + d, n, origin)
            deg[s] -= 1
            if deg[s] == 0:
                ready.append(s)
    return arrival


# -- a whole netlist ---------------------------------------------------------------------------

def module_order(modules: dict[str, dict]) -> list[str]:
    """Module names, children before parents."""
    order, seen = [], set()

    def visit(mname: str, stack: tuple = ()) -> None:
        if mname in seen:
            return
        if mname in stack:
            raise TimingError(f"recursive module hierarchy through '{mname}'")
        for c in modules[mname].get("cells", {}).values():
            if c["type"] in modules:
                visit(c["type"], stack + (mname,))
        seen.add(mname)
        order.append(mname)

    for mname in modules:
        visit(mname)
    return order


def analyze_netlist(modules: dict[str, dict], m: DelayModel,
                    only: set[str] | None = None) -> dict[str, ModuleTiming]:
    """The model of every module of a Yosys JSON netlist that is not a blackbox (or of `only`
    and what they contain), children first."""
    mods = {k: v for k, v in modules.items() if not _is_blackbox(v)}
    if only is not None:
        need, todo = set(), list(only)
        while todo:
            k = todo.pop()
            if k in need or k not in mods:
                continue
            need.add(k)
            todo += [c["type"] for c in mods[k].get("cells", {}).values()]
        mods = {k: v for k, v in mods.items() if k in need}
    out: dict[str, ModuleTiming] = {}
    for name in module_order(mods):
        out[name] = analyze_module(name, mods[name], out, m)
    return out


def fmax_mhz(delay_ns: float, m: DelayModel) -> float:
    """The clock a path of `delay_ns` allows, with the model's clock margin."""
    return 1000.0 / (delay_ns + m.clock_margin) if delay_ns > 0 else math.inf


# -- the build's report ------------------------------------------------------------------------

STREAM_NET = re.compile(r"(w_\w+)_(tdata|tvalid|tready)(\[\d+\])?")


def stream_wires(path: dict, wires: set[str]) -> list[tuple[str, float]]:
    """The stream wires (accelerator.json "streams") a top path's nets belong to, in order,
    with the arrival time at each (the first net of the wire met)."""
    out: list[tuple[str, float]] = []
    for name, t in path.get("nets", []):
        mt = STREAM_NET.fullmatch(name)
        if not mt:
            continue
        w = mt.group(1)
        if w in wires and (not out or out[-1][0] != w):
            out.append((w, t))
    return out


def timing_report(synth: dict, clock_mhz: float, manifest: dict | None = None,
                  top: int = 10) -> dict:
    """The timing section of a build's report from `synthesize`'s result: the longest path of
    every instance (logic levels, carry chain, DSPs), the longest paths across modules
    (each with the instances it runs through), the estimated fmax and every path over the
    clock period of `clock_mhz`, flagged."""
    t = synth.get("timing")
    if not t:
        return {"status": "not estimated", "reason": "the synthesis result has no timing"}
    m = delay_model(t["family"])
    period = 1000.0 / clock_mhz
    budget = period - m.clock_margin
    wires = {s["wire"] for s in (manifest or {}).get("streams", [])}
    rows = []
    for name, it in t["instances"].items():
        w = it.get("worst")
        info = synth["instances"].get(name, {})
        row = {"instance": name, "kind": info.get("kind", ""), "node": info.get("node"),
               "carry_chain": it.get("carry_chain", 0), "dsp_stages": it.get("dsp_stages", 0)}
        if w:
            row.update(delay_ns=w["delay_ns"], levels=w["levels"], luts=w["luts"],
                       carry4=w["carry4"], dsp=w["dsp"], **{"from": w["from"], "to": w["to"]},
                       over=w["delay_ns"] > budget)
        else:
            row.update(delay_ns=0.0, levels=0, over=False)
        rows.append(row)
    rows.sort(key=lambda r: -r["delay_ns"])
    cross, own = [], []
    for p in t["top"]:
        if not p["through"]:          # the top's own logic (its TLAST counters)
            own.append({"delay_ns": p["delay_ns"], "from": p["from"], "to": p["to"],
                        "levels": p["levels"], "over": p["delay_ns"] > budget})
            continue
        cross.append({**{k: p[k] for k in ("delay_ns", "from", "to", "levels", "carry4", "dsp")},
                      "comb_modules": sum("->" in x for x in p["through"]),
                      "through": p["through"],
                      "wires": [w for w, _ in stream_wires(p, wires)] if wires else [],
                      "over": p["delay_ns"] > budget})
    ports = []
    for kind, paths in t.get("ports", {}).items():
        for g, p in paths.items():
            # the DMA's side is a register: its clock-to-out before, its setup and a net after
            extra = m.ff_clk_q if kind == "in_to_reg" else m.route_base + m.ff_setup_d
            ports.append({"port": g, "kind": kind, "delay_ns": round(p["delay_ns"] + extra, 3),
                          "from": p["from"], "to": p["to"], "levels": p["levels"],
                          "over": p["delay_ns"] + extra > budget})
    ports.sort(key=lambda r: -r["delay_ns"])
    cross = cross[:top]
    candidates = [(r["delay_ns"], f"instance {r['instance']}") for r in rows[:1]] + \
        [(c["delay_ns"], "across modules") for c in cross[:1]] + \
        [(p["delay_ns"], f"port {p['port']}") for p in ports[:1]] + \
        [(o["delay_ns"], "the top's own logic") for o in own[:1]]
    worst, where = max(candidates, default=(0.0, "-"))
    flagged = ([f"{r['instance']} ({r['kind']}): {r['delay_ns']:.2f} ns, {r['levels']} levels, "
                f"{r.get('carry4', 0)} CARRY4, from {r['from']} to {r['to']}"
                for r in rows if r["over"]] +
               [f"across {c['comb_modules']} combinational module(s): {c['delay_ns']:.2f} ns "
                f"from {c['from']} to {c['to']}" for c in cross if c["over"]] +
               [f"port {p['port']}: {p['delay_ns']:.2f} ns" for p in ports if p["over"]] +
               [f"the top's own logic: {o['delay_ns']:.2f} ns from {o['from']} to {o['to']}"
                for o in own if o["over"]])
    return {
        "status": "estimated", "model": t["model"], "family": t["family"],
        "clock_mhz": clock_mhz, "period_ns": round(period, 3),
        "clock_margin_ns": m.clock_margin,
        "worst_ns": round(worst, 3), "limited_by": where,
        "fmax_mhz": round(fmax_mhz(worst, m), 1),
        "meets_clock": not flagged, "flagged": flagged,
        "instances": rows, "across_modules": cross, "ports": ports[:top],
        "top_own": own[:3],
        "unknown_cells": t.get("unknown_cells", {}),
        "note": "estimate from Yosys netlists and a published-figure delay model "
                "(flow/measure/timing.py); routing guessed from fan-out, not placed",
    }


def slices_for(report: dict, synth: dict, manifest: dict) -> dict[str, float]:
    """Stream wires to cut with a register slice, for every path across modules over the
    clock period: on each, the wire whose cut leaves the longer of the two halves shortest
    (the first half ends at the slice's registers, the second starts at them), if both then
    fit the period. Returns {wire: the path's delay}. A path that no cut brings within the
    period (its length is inside one module) gets no slice: it stays flagged."""
    if report.get("status") != "estimated":
        return {}
    m = delay_model(report["family"])
    budget = report["period_ns"] - m.clock_margin
    have = {s["wire"] for s in manifest.get("register_slices", [])}
    wires = {s["wire"] for s in manifest["streams"]}
    out: dict[str, float] = {}
    for p in synth["timing"]["top"]:
        total = p["delay_ns"]
        if total <= budget:
            continue
        best = None
        for w, a in stream_wires(p, wires):
            if w in have or w.endswith("_rs"):
                continue
            # into the slice: a net, a LUT of its skid logic, a register's setup; out of
            # it: a register's clock-to-out
            first = a + m.route(1) + m.lut + m.ff_setup_ce
            second = m.ff_clk_q + (total - a)
            worst = max(first, second)
            if worst <= budget and (best is None or worst < best[1]):
                best = (w, worst)
        if best is not None:
            out.setdefault(best[0], total)
    return out

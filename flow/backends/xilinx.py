"""Xilinx tool scripts: Vitis HLS synthesis, RTL IP packaging, the PYNQ block design and the
bitstream.

`write_scripts` always writes the Tcl (this machine may have no Xilinx tools); `run_hls_synth`
and `run_bitstream` run it where `vitis_hls` / `vivado` are on PATH and check that the promised
files exist before reporting success. The scripts locate everything relative to themselves, so
the output folder can be copied to a machine that has the tools.

Memory layout seen by the DMA: the AXI DMA only takes stream widths of 8, 16, 32, ... 1024 bits,
so a port whose `tdata_width` is not one of them (e.g. 24) goes through an AXI4-Stream subset
converter: each beat occupies `dma_stream_width(tdata_width) / 8` bytes in memory, the beat in
the low `tdata_width` bits, the rest zero on the way out and ignored on the way in.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

from ..boards import Board
from ..processes import run_tool
from brevitas_models.files import write_text_atomic

BACKENDS = ("hls", "rtl")
FAMILIES = ("zynq-7000", "zynq-ultrascale+")
VENDOR = "binhg"
TOP = "accelerator"
BD_NAME = "accelerator_bd"
# Vivado board parts per board, and where their board files come from when not installed. PYNQ
# needs the PS configured as on the real board (DDR, MIO), which only the board preset knows.
BOARD_PARTS = {
    "pynq-z1": ("*pynq-z1*",
                "the Digilent PYNQ-Z1 board files (github.com/Digilent/vivado-boards)"),
    "pynq-z2": ("*pynq-z2*", "the TUL PYNQ-Z2 board files (from TUL's PYNQ-Z2 download page)"),
    "ultra96-v2": ("*ultra96v2*", "the Avnet Ultra96-V2 board files (github.com/Avnet/bdf)"),
    "zcu104": ("*zcu104*", "the Xilinx ZCU104 board files (Vivado board store)"),
    "kv260": ("*kv260_som*", "the Xilinx KV260 SOM board files (Vivado board store)"),
}
TOOL_NAMES = {"vitis_hls": ("Vitis HLS", "the script hls/hls_synth.tcl is"),
              "vivado": ("Vivado", "the scripts in vivado/ are")}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class XilinxError(RuntimeError):
    pass


def dma_stream_width(tdata_width: int) -> int:
    """The AXI DMA stream width carrying a port of `tdata_width` bits: the next of 8..1024."""
    w = 8
    while w < tdata_width:
        w *= 2
    return w


def write_scripts(out_dir: Path, board: Board, backend: str, ports: dict,
                  clock_mhz: float) -> list[Path]:
    """Write hls/hls_synth.tcl and, for `backend`, the Vivado scripts under vivado/; returns
    the files."""
    out_dir = Path(out_dir)
    if backend not in BACKENDS:
        raise ValueError(f"--backend must be one of {', '.join(BACKENDS)}, not '{backend}'")
    if board.family not in FAMILIES:
        raise ValueError(f"board '{board.name}' has family '{board.family}'; the block design "
                         f"supports {', '.join(FAMILIES)}")
    if board.name not in BOARD_PARTS:
        raise ValueError(f"no Vivado board part is known for board '{board.name}' (flow/backends/xilinx.py "
                         f"BOARD_PARTS knows {', '.join(BOARD_PARTS)})")
    if not clock_mhz > 0:
        raise ValueError(f"the clock must be positive, not {clock_mhz} MHz")
    pin, pout = _stream_ports(ports)
    # Render everything before writing anything: a refused call leaves no files behind.
    # hls/ is generated whatever the backend, so its synthesis script always comes with it.
    texts = {out_dir / "hls" / "hls_synth.tcl": hls_script(board, clock_mhz)}
    if backend == "rtl":
        texts[out_dir / "vivado" / "package_rtl_ip.tcl"] = _package_tcl(board, pin, pout)
    texts[out_dir / "vivado" / "block_design.tcl"] = _bd_tcl(board, backend, pin, pout, clock_mhz)
    for path, text in texts.items():
        write_text_atomic(path, text)
    return list(texts)


def tool_missing(tool: str) -> str | None:
    """None when `tool` is on PATH, else why the flow cannot run it here."""
    if shutil.which(tool):
        return None
    name, script = TOOL_NAMES.get(tool, (tool, "the generated Tcl is"))
    return (f"{tool} is not on PATH ({name} is not installed on this machine); {script} "
            "written for a machine that has it")


def run_hls_synth(out_dir: Path, log: Callable[[str], None] | None = None) -> dict:
    """Run hls/hls_synth.tcl in Vitis HLS and check the exported IP (hls/ip/component.xml)."""
    hls = Path(out_dir) / "hls"
    _need_tool("vitis_hls")
    _need(hls / "hls_synth.tcl", "write_scripts(backend='hls') writes it")
    ip = hls / "ip"
    shutil.rmtree(ip, ignore_errors=True)    # so only this run's export can pass the check
    (hls / "vitis_hls.log").unlink(missing_ok=True)
    # -l: Vitis HLS writes its own log as vitis_hls.log by default, the name used for stdout.
    secs = _run(["vitis_hls", "-f", "hls_synth.tcl", "-l", "vitis_hls.tool.log"], hls,
                hls / "vitis_hls.log", log)
    found = sorted(ip.rglob("component.xml")) if ip.is_dir() else []
    if not found:
        raise XilinxError(_failure("vitis_hls", "exited 0 but the exported IP "
                                   f"{ip / 'component.xml'} is missing", hls / "vitis_hls.log"))
    return {"tool": "vitis_hls", "ip_dir": str(ip), "files": [str(p) for p in found],
            "vlnv": f"{VENDOR}:hls:{TOP}:1.0", "log": str(hls / "vitis_hls.log"),
            "seconds": round(secs, 1)}


def run_bitstream(out_dir: Path, backend: str,
                  log: Callable[[str], None] | None = None) -> dict:
    """Run the Vivado scripts (RTL packaging first for rtl) and check bitfile/accelerator.bit
    and .hwh."""
    out_dir = Path(out_dir)
    if backend not in BACKENDS:
        raise ValueError(f"--backend must be one of {', '.join(BACKENDS)}, not '{backend}'")
    viv = out_dir / "vivado"
    _need_tool("vivado")
    _need(viv / "block_design.tcl", "write_scripts writes it")
    bit_dir = out_dir / "bitfile"
    outputs = [bit_dir / f"{TOP}.bit", bit_dir / f"{TOP}.hwh"]
    for f in outputs:     # an older bitstream must not pass for this run's
        f.unlink(missing_ok=True)
    vlog = viv / "vivado.log"
    vlog.unlink(missing_ok=True)
    env = {"BINHG_VIVADO_JOBS": str(os.cpu_count() or 2)}
    cmd = ["vivado", "-mode", "batch", "-nolog", "-nojournal", "-source"]
    secs = 0.0
    if backend == "rtl":
        _need(viv / "package_rtl_ip.tcl", "write_scripts(backend='rtl') writes it")
        _need(out_dir / "rtl" / "filelist.f", "the RTL backend writes it")
        shutil.rmtree(viv / "ip", ignore_errors=True)
        secs += _run(cmd + ["package_rtl_ip.tcl"], viv, vlog, log, env)
        if not (viv / "ip" / "component.xml").exists():
            raise XilinxError(_failure("vivado", "exited 0 after package_rtl_ip.tcl but the "
                                       f"packaged IP {viv / 'ip' / 'component.xml'} is missing",
                                       vlog))
    else:
        _need(out_dir / "hls" / "ip" / "component.xml",
              "run Vitis HLS first (run_hls_synth / hls/hls_synth.tcl)")
    secs += _run(cmd + ["block_design.tcl"], viv, vlog, log, env)
    missing = [f for f in outputs if not f.exists()]
    if missing:
        raise XilinxError(_failure("vivado", "exited 0 but " + " and ".join(map(str, missing))
                                   + (" is" if len(missing) == 1 else " are") + " missing", vlog))
    return {"tool": "vivado", "files": [str(f) for f in outputs], "log": str(vlog),
            "seconds": round(secs, 1)}


# --- running ---------------------------------------------------------------------------------

def _need(path: Path, hint: str) -> None:
    if not path.exists():
        raise XilinxError(f"{path} is missing ({hint})")


def _need_tool(tool: str) -> None:
    why = tool_missing(tool)
    if why:
        raise XilinxError(why)


def _run(cmd: list[str], cwd: Path, log_path: Path, log, env: dict | None = None) -> float:
    _need_tool(cmd[0])
    if log:
        log(f"running {' '.join(cmd)} in {cwd} (log: {log_path})")
    t0 = time.monotonic()
    # Appends: the RTL flow runs Vivado twice into one log. stdin closed so that a script
    # which fails to exit cannot leave the tool waiting at its interactive prompt.
    with open(log_path, "a") as f:
        f.write(f"### {' '.join(cmd)}  (cwd {cwd})\n")
        f.flush()
        rc = run_tool(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                      env={**os.environ, **(env or {})}).returncode
    secs = time.monotonic() - t0
    if rc != 0:
        raise XilinxError(_failure(cmd[0], f"{' '.join(cmd[1:])} exited with code {rc}",
                                   log_path))
    if log:
        log(f"{cmd[0]} finished in {secs:.0f} s")
    return secs


def _failure(tool: str, what: str, log_path: Path, lines: int = 10) -> str:
    try:
        tail = log_path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        tail = []
    msg = f"{tool}: {what}; see {log_path}"
    if tail:
        msg += f"; last {len(tail)} lines:\n" + "\n".join("    " + t for t in tail)
    return msg


# --- scripts ---------------------------------------------------------------------------------

def dma_refusal(ports: dict) -> str:
    """Why the PYNQ block design (one AXI DMA: one stream each way) cannot carry this
    accelerator's streams, or "". The one rule the Vivado scripts, the bitstream and the
    board package steps follow."""
    ins, outs = ports.get("inputs") or [], ports.get("outputs") or []
    if len(ins) == 1 and len(outs) == 1:
        return ""
    names = lambda ps: ", ".join(str(p.get("port")) for p in ps) or "none"  # noqa: E731
    return ("the DMA block design supports exactly one input and one output stream; this "
            f"accelerator has inputs: {names(ins)}; outputs: {names(outs)}")


def _stream_ports(ports: dict) -> tuple[dict, dict]:
    why = dma_refusal(ports)
    if why:
        raise ValueError(why)
    ins, outs = ports["inputs"], ports["outputs"]
    for p in (ins[0], outs[0]):
        name, w = p.get("port"), p.get("tdata_width")
        if not isinstance(name, str) or not _IDENT.match(name):
            raise ValueError(f"stream port name {name!r} is not a valid HDL identifier")
        if not isinstance(w, int) or w <= 0 or w % 8 or w > 1024:
            raise ValueError(f"port {name}: tdata_width {w!r} must be a multiple of 8 from 8 to "
                             "1024 (the AXI DMA's limit)")
    return ins[0], outs[0]


def _fill(template: str, **values) -> str:
    text = template
    for k, v in values.items():
        text = text.replace(f"@{k}@", str(v))
    left = re.findall(r"@[A-Z_]+@", text)
    assert not left, f"unfilled placeholders {left}"
    return text


def _num(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".")


_HLS = r"""# hls_synth.tcl -- generated by flow/backends/xilinx.py, do not edit.
# C synthesis of the HLS accelerator (top function accelerator in accelerator.cpp; the kernel
# headers and params/ sit beside it) for @PART@ at @CLOCK@ MHz (@PERIOD@ ns), exported as the
# Vivado IP @VLNV@ into ip/ beside this script.
# Run from this folder:
#     vitis_hls -f hls_synth.tcl
# Vitis HLS 2021.2 and older need Xilinx AR 76960 (the export_design date bug) applied.

set script_dir [file dirname [file normalize [info script]]]
cd $script_dir

open_project -reset hls_prj
set_top accelerator
add_files accelerator.cpp -cflags "-std=c++14 -I."
if {[file exists csim_tb.cpp]} {
    add_files -tb csim_tb.cpp -cflags "-std=c++14 -I."
}
open_solution -reset sol1 -flow_target vivado
set_part @PART@
create_clock -period @PERIOD@ -name default
csynth_design
export_design -format ip_catalog -rtl verilog -vendor @VENDOR@ -library hls \
    -ipname accelerator -version 1.0 -display_name "binhg accelerator"

# export_design's own output location differs between releases; copy the unzipped IP to a
# fixed place for block_design.tcl.
set exported [file join hls_prj sol1 impl ip]
if {![file exists [file join $exported component.xml]]} {
    error "export_design wrote no IP at [file join $script_dir $exported component.xml]"
}
file delete -force ip
file copy $exported ip
puts "HLS IP @VLNV@ exported to [file join $script_dir ip]"
exit
"""


def hls_script(board: Board, clock_mhz: float) -> str:
    """hls/hls_synth.tcl: Vitis HLS C synthesis and IP export of the HLS top, for any streams."""
    return _fill(_HLS, PART=board.part, CLOCK=_num(clock_mhz), PERIOD=f"{1000 / clock_mhz:.3f}",
                 VENDOR=VENDOR, VLNV=f"{VENDOR}:hls:{TOP}:1.0")


_PACKAGE = r"""# package_rtl_ip.tcl -- generated by flow/backends/xilinx.py, do not edit.
# Packages the generated RTL in ../rtl (sources from filelist.f, plus the .mem ROM images that
# $readmemh loads) as the Vivado IP @VLNV@ in ip/ beside this script: AXI4-Stream slave
# @IN@ and master @OUT@ on clock ap_clk, active-low reset ap_rst_n. block_design.tcl uses it.
# Run from this folder:
#     vivado -mode batch -source package_rtl_ip.tcl

set script_dir [file dirname [file normalize [info script]]]
set rtl_dir    [file join [file dirname $script_dir] rtl]
set ip_dir     [file join $script_dir ip]
set prj_dir    [file join $script_dir pkg_prj]
set part       @PART@
set in_port    @IN@
set out_port   @OUT@

set filelist [file join $rtl_dir filelist.f]
if {![file exists $filelist]} {
    error "$filelist is missing: generate the RTL first"
}
set fh [open $filelist r]
set sources {}
foreach line [split [read $fh] "\n"] {
    set line [string trim $line]
    if {$line ne "" && [string index $line 0] ne "#"} {
        lappend sources [file join $rtl_dir $line]
    }
}
close $fh
set mems [lsort [glob -nocomplain -directory $rtl_dir *.mem]]

file delete -force $ip_dir $prj_dir
create_project -force pkg_prj $prj_dir -part $part
add_files -norecurse $sources
if {[llength $mems] > 0} {
    # Part of the project so that synthesis finds the files $readmemh names.
    add_files -norecurse $mems
}
set_property top accelerator [current_fileset]
update_compile_order -fileset sources_1

ipx::package_project -root_dir $ip_dir -vendor @VENDOR@ -library rtl -taxonomy /UserIP \
    -import_files -set_current true
set core [ipx::current_core]
set_property name accelerator $core
set_property version 1.0 $core
set_property display_name "binhg accelerator (RTL)" $core
set_property description "Binarized hourglass accelerator generated by flow/backends/rtlgen.py" $core

# package_project usually infers these from the port names; make sure, and fail loudly if not.
foreach {name signal} {ap_clk clock_rtl ap_rst_n reset_rtl} {
    if {[ipx::get_bus_interfaces -quiet $name -of_objects $core] eq ""} {
        ipx::infer_bus_interface $name xilinx.com:signal:${signal}:1.0 $core
    }
}
foreach {port signals} [list $in_port {tdata tvalid tready} $out_port {tdata tvalid tready tlast}] {
    if {[ipx::get_bus_interfaces -quiet $port -of_objects $core] eq ""} {
        set pins {}
        foreach s $signals { lappend pins ${port}_$s }
        ipx::infer_bus_interface $pins xilinx.com:interface:axis_rtl:1.0 $core
    }
}
foreach name [list ap_clk ap_rst_n $in_port $out_port] {
    if {[ipx::get_bus_interfaces -quiet $name -of_objects $core] eq ""} {
        error "IP packaging found no bus interface $name on module accelerator"
    }
}
ipx::associate_bus_interfaces -busif $in_port -clock ap_clk $core
ipx::associate_bus_interfaces -busif $out_port -clock ap_clk $core
ipx::associate_bus_interfaces -clock ap_clk -reset ap_rst_n $core
set rst_if [ipx::get_bus_interfaces ap_rst_n -of_objects $core]
set polarity [ipx::get_bus_parameters -quiet POLARITY -of_objects $rst_if]
if {$polarity eq ""} {
    set polarity [ipx::add_bus_parameter POLARITY $rst_if]
}
set_property value ACTIVE_LOW $polarity

# The ROM images must travel with the IP, or the block design's synthesis reads nothing.
foreach group_name {xilinx_anylanguagesynthesis xilinx_anylanguagebehavioralsimulation} {
    set group [ipx::get_file_groups -quiet $group_name -of_objects $core]
    if {$group eq ""} {
        continue
    }
    foreach mem $mems {
        set name [file tail $mem]
        if {[llength [ipx::get_files -quiet -of_objects $group *$name]] == 0} {
            file mkdir [file join $ip_dir src]
            file copy -force $mem [file join $ip_dir src $name]
            set_property type mif [ipx::add_file src/$name $group]
        }
    }
}

ipx::create_xgui_files $core
ipx::update_checksums $core
ipx::check_integrity $core
ipx::save_core $core
close_project
if {![file exists [file join $ip_dir component.xml]]} {
    error "IP packaging wrote no [file join $ip_dir component.xml]"
}
puts "RTL IP @VLNV@ packaged in $ip_dir"
"""


def _package_tcl(board: Board, pin: dict, pout: dict) -> str:
    return _fill(_PACKAGE, PART=board.part, IN=pin["port"], OUT=pout["port"], VENDOR=VENDOR,
                 VLNV=f"{VENDOR}:rtl:{TOP}:1.0")


_BD = r"""# block_design.tcl -- generated by flow/backends/xilinx.py, do not edit.
# The PYNQ overlay for board @BOARD@ (@PART@): Zynq PS (board preset), one AXI DMA in simple
# mode (MM2S stream @MM2S_W@ bits -> accelerator @IN@, accelerator @OUT@ -> S2MM stream
# @S2MM_W@ bits, memory through the PS HP0 port, registers on the PS GP master) and the @BACKEND@
# accelerator IP @VLNV@, all on one fabric clock of @CLOCK@ MHz. Runs synthesis,
# implementation and write_bitstream, checks the runs and timing, and copies the bitstream and
# its hardware handoff to ../bitfile/accelerator.bit and ../bitfile/accelerator.hwh.
# Needs the accelerator IP first: @NEEDS@.
# Run from this folder:
#     vivado -mode batch -source block_design.tcl
# Environment (optional): BINHG_BOARD_REPO = a folder with extra board files,
# BINHG_VIVADO_JOBS = parallel runs (default 4).

set script_dir [file dirname [file normalize [info script]]]
set out_dir    [file dirname $script_dir]
set part          @PART@
set family        @FAMILY@
set board_pattern @PATTERN@
set clk_mhz       @CLOCK@
set ip_repo       [file join $out_dir @IP_REPO@]
set accel_vlnv    @VLNV@
set in_port       @IN@
set out_port      @OUT@
set bd_name       @BD@
set jobs 4
if {[info exists ::env(BINHG_VIVADO_JOBS)]} {
    set jobs $::env(BINHG_VIVADO_JOBS)
}

# A failed run must not leave an older bitstream that looks like this run's result.
set bit_dir [file join $out_dir bitfile]
file delete -force [file join $bit_dir accelerator.bit] [file join $bit_dir accelerator.hwh]

if {![file exists [file join $ip_repo component.xml]]} {
    error "no accelerator IP in $ip_repo: @NEEDS@ first"
}

proc latest_vlnv {name} {
    set vlnvs {}
    foreach d [get_ipdefs -quiet xilinx.com:ip:${name}:*] {
        lappend vlnvs [get_property VLNV $d]
    }
    if {[llength $vlnvs] == 0} {
        error "the Vivado IP catalog has no xilinx.com:ip:$name"
    }
    return [lindex [lsort -dictionary $vlnvs] end]
}

# Connect each pin to the source unless something (connection automation) already did.
proc tie {source pins} {
    foreach p $pins {
        set pin [get_bd_pins -quiet $p]
        if {$pin eq ""} {
            error "the block design has no pin $p"
        }
        if {[llength [get_bd_nets -quiet -of_objects $pin]] == 0} {
            connect_bd_net [get_bd_pins $source] $pin
        }
    }
}

if {[info exists ::env(BINHG_BOARD_REPO)]} {
    set_param board.repoPaths [concat [list $::env(BINHG_BOARD_REPO)] [get_param board.repoPaths]]
}
create_project -force accelerator_prj [file join $script_dir prj] -part $part
set board_part [lindex [get_board_parts -quiet -latest_file_version $board_pattern] 0]
if {$board_part eq ""} {
    error "Vivado has no board part matching $board_pattern for @BOARD@. Install @BOARD_FILES@ (or set BINHG_BOARD_REPO to the folder holding them) and run again: the PS DDR and MIO settings come from the board preset and are not guessed."
}
set_property board_part $board_part [current_project]
if {[string tolower [get_property PART [current_project]]] ne [string tolower $part]} {
    puts "WARNING: board part $board_part uses [get_property PART [current_project]], flow/boards.py says $part"
}
set_property ip_repo_paths [list $ip_repo] [current_project]
update_ip_catalog -rebuild
if {[llength [get_ipdefs -quiet $accel_vlnv]] == 0} {
    error "the IP catalog has no $accel_vlnv after adding $ip_repo"
}

create_bd_design $bd_name

# --- Zynq PS with the board preset, GP master for registers, HP0 slave for DMA traffic
@PS@
set act_mhz ""
catch {set act_mhz [get_property $act_freq_prop [get_bd_cells ps]]}
if {$act_mhz ne "" && abs($act_mhz - $clk_mhz) > 0.01 * $clk_mhz} {
    puts "WARNING: fabric clock requested $clk_mhz MHz, the PS PLL gives $act_mhz MHz"
}

create_bd_cell -type ip -vlnv [latest_vlnv proc_sys_reset] rst_fabric
connect_bd_net [get_bd_pins $fclk] [get_bd_pins rst_fabric/slowest_sync_clk]
connect_bd_net [get_bd_pins $fresetn] [get_bd_pins rst_fabric/ext_reset_in]

# --- AXI DMA, simple mode (PYNQ's DMA driver), one channel each way
create_bd_cell -type ip -vlnv [latest_vlnv axi_dma] dma
set_property -dict [list \
    CONFIG.c_include_sg {0} CONFIG.c_sg_length_width {26} CONFIG.c_sg_include_stscntrl_strm {0} \
    CONFIG.c_include_mm2s {1} CONFIG.c_include_s2mm {1} \
    CONFIG.c_m_axis_mm2s_tdata_width {@MM2S_W@} CONFIG.c_m_axi_mm2s_data_width {@MM2S_MM@} \
    CONFIG.c_s_axis_s2mm_tdata_width {@S2MM_W@} CONFIG.c_m_axi_s2mm_data_width {@S2MM_MM@} \
] [get_bd_cells dma]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config [list Clk_master {Auto} \
    Clk_slave {Auto} Clk_xbar {Auto} Master $gp_master Slave /dma/S_AXI_LITE ddr_seg {Auto} \
    intc_ip {New AXI Interconnect} master_apm {0}] [get_bd_intf_pins dma/S_AXI_LITE]

create_bd_cell -type ip -vlnv [latest_vlnv smartconnect] smc_mem
set_property -dict [list CONFIG.NUM_SI {2} CONFIG.NUM_MI {1}] [get_bd_cells smc_mem]
connect_bd_intf_net [get_bd_intf_pins dma/M_AXI_MM2S] [get_bd_intf_pins smc_mem/S00_AXI]
connect_bd_intf_net [get_bd_intf_pins dma/M_AXI_S2MM] [get_bd_intf_pins smc_mem/S01_AXI]
connect_bd_intf_net [get_bd_intf_pins smc_mem/M00_AXI] [get_bd_intf_pins $hp_slave]

# --- the accelerator: free-running stream core, no control registers
create_bd_cell -type ip -vlnv $accel_vlnv accel
foreach p [list $in_port $out_port] {
    if {[get_bd_intf_pins -quiet accel/$p] eq ""} {
        error "the accelerator IP has no AXI4-Stream interface $p"
    }
}
if {[get_bd_pins -quiet accel/ap_start] ne ""} {
    error "the accelerator IP has an ap_start port (ap_ctrl_hs block protocol) that nothing drives; the top needs ap_ctrl_none"
}
if {[get_bd_intf_pins -quiet accel/s_axi_control] ne ""} {
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config [list Clk_master {Auto} \
        Clk_slave {Auto} Clk_xbar {Auto} Master $gp_master Slave /accel/s_axi_control \
        ddr_seg {Auto} intc_ip {Auto} master_apm {0}] [get_bd_intf_pins accel/s_axi_control]
}
set stream_cells {}
@STREAMS@

set stream_clks {}
set stream_resets {}
foreach c $stream_cells {
    lappend stream_clks $c/aclk
    lappend stream_resets $c/aresetn
}
tie $fclk [concat [list $gp_clk $hp_clk dma/s_axi_lite_aclk dma/m_axi_mm2s_aclk \
    dma/m_axi_s2mm_aclk smc_mem/aclk accel/ap_clk] $stream_clks]
tie rst_fabric/peripheral_aresetn [concat [list dma/axi_resetn accel/ap_rst_n] $stream_resets]
tie rst_fabric/interconnect_aresetn [list smc_mem/aresetn]

assign_bd_address
validate_bd_design
save_bd_design

set bd_file [get_files $bd_name.bd]
make_wrapper -files $bd_file -top -import -fileset sources_1
set_property top ${bd_name}_wrapper [current_fileset]
update_compile_order -fileset sources_1

launch_runs impl_1 -to_step write_bitstream -jobs $jobs
wait_on_run [get_runs impl_1]

foreach {run want} {synth_1 "synth_design Complete" impl_1 "write_bitstream Complete"} {
    set r [get_runs $run]
    set progress [get_property PROGRESS $r]
    set status [get_property STATUS $r]
    if {$progress ne "100%" || ![string match "*$want*" $status]} {
        error "$run failed: progress $progress, status '$status'; see [file join [get_property DIRECTORY $r] runme.log]"
    }
}
set impl_dir [get_property DIRECTORY [get_runs impl_1]]
set wns [get_property STATS.WNS [get_runs impl_1]]
set whs [get_property STATS.WHS [get_runs impl_1]]
if {($wns ne "" && $wns < 0) || ($whs ne "" && $whs < 0)} {
    error "timing not met at $clk_mhz MHz (WNS $wns ns, WHS $whs ns): not copying the bitstream; see [file join $impl_dir ${bd_name}_wrapper_timing_summary_routed.rpt]. Rebuild for a lower clock."
}

set bit [file join $impl_dir ${bd_name}_wrapper.bit]
set prj_dir [get_property DIRECTORY [current_project]]
set hwh ""
foreach d {gen srcs} {
    set candidate [file join $prj_dir accelerator_prj.$d sources_1 bd $bd_name hw_handoff $bd_name.hwh]
    if {[file exists $candidate]} {
        set hwh $candidate
        break
    }
}
if {$hwh eq ""} {
    set hwh [lindex [get_files -quiet -all -of_objects $bd_file *.hwh] 0]
}
if {![file exists $bit]} {
    error "impl_1 reports success but $bit is missing"
}
if {$hwh eq "" || ![file exists $hwh]} {
    error "no hardware handoff (.hwh) for $bd_name under $prj_dir"
}
# PYNQ loads accelerator.bit and wants the .hwh beside it with the same stem.
file mkdir $bit_dir
file copy -force $bit [file join $bit_dir accelerator.bit]
file copy -force $hwh [file join $bit_dir accelerator.hwh]
puts "BITSTREAM [file join $bit_dir accelerator.bit] (WNS $wns ns at $clk_mhz MHz)"
close_project
"""

_PS7 = r"""set fclk ps/FCLK_CLK0
set fresetn ps/FCLK_RESET0_N
set gp_master /ps/M_AXI_GP0
set gp_clk ps/M_AXI_GP0_ACLK
set hp_slave ps/S_AXI_HP0
set hp_clk ps/S_AXI_HP0_ACLK
set act_freq_prop CONFIG.PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ
create_bd_cell -type ip -vlnv [latest_vlnv processing_system7] ps
apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 -config {make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"} [get_bd_cells ps]
set_property -dict [list CONFIG.PCW_USE_M_AXI_GP0 {1} CONFIG.PCW_USE_S_AXI_HP0 {1} \
    CONFIG.PCW_EN_CLK0_PORT {1} CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ $clk_mhz] [get_bd_cells ps]"""

# Only HPM0_FPD stays enabled: an enabled master port with nothing on it fails validation.
_PSU = r"""set fclk ps/pl_clk0
set fresetn ps/pl_resetn0
set gp_master /ps/M_AXI_HPM0_FPD
set gp_clk ps/maxihpm0_fpd_aclk
set hp_slave ps/S_AXI_HP0_FPD
set hp_clk ps/saxihp0_fpd_aclk
set act_freq_prop CONFIG.PSU__CRL_APB__PL0_REF_CTRL__ACT_FREQMHZ
create_bd_cell -type ip -vlnv [latest_vlnv zynq_ultra_ps_e] ps
apply_bd_automation -rule xilinx.com:bd_rule:zynq_ultra_ps_e -config {apply_board_preset "1"} [get_bd_cells ps]
set_property -dict [list \
    CONFIG.PSU__USE__M_AXI_GP0 {1} CONFIG.PSU__USE__M_AXI_GP1 {0} CONFIG.PSU__USE__M_AXI_GP2 {0} \
    CONFIG.PSU__USE__S_AXI_GP2 {1} CONFIG.PSU__FPGA_PL0_ENABLE {1} \
    CONFIG.PSU__OVERRIDE__BASIC_CLOCK {0} CONFIG.PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ $clk_mhz \
] [get_bd_cells ps]"""


def _stream_link(src: str, dst: str, cell: str, from_w: int, to_w: int) -> list[str]:
    """Tcl joining stream interface pins src -> dst, through a subset converter `cell` that
    keeps / zero-pads the low bits when the widths differ."""
    if from_w == to_w:
        return [f"connect_bd_intf_net [get_bd_intf_pins {src}] [get_bd_intf_pins {dst}]"]
    keep = min(from_w, to_w)
    remap = f"tdata[{keep - 1}:0]"
    if to_w > from_w:
        remap = f"{to_w - from_w}'b{'0' * (to_w - from_w)},{remap}"
    return [f"# {from_w}-bit -> {to_w}-bit stream: the DMA only takes power-of-two widths",
            f"create_bd_cell -type ip -vlnv [latest_vlnv axis_subset_converter] {cell}",
            f"set_property -dict [list CONFIG.S_TDATA_NUM_BYTES {{{from_w // 8}}} "
            f"CONFIG.M_TDATA_NUM_BYTES {{{to_w // 8}}} CONFIG.S_HAS_TLAST {{1}} "
            f"CONFIG.M_HAS_TLAST {{1}} CONFIG.TDATA_REMAP {{{remap}}} "
            f"CONFIG.TLAST_REMAP {{tlast[0]}}] [get_bd_cells {cell}]",
            f"connect_bd_intf_net [get_bd_intf_pins {src}] [get_bd_intf_pins {cell}/S_AXIS]",
            f"connect_bd_intf_net [get_bd_intf_pins {cell}/M_AXIS] [get_bd_intf_pins {dst}]",
            f"lappend stream_cells {cell}"]


def _bd_tcl(board: Board, backend: str, pin: dict, pout: dict, clock_mhz: float) -> str:
    win, wout = pin["tdata_width"], pout["tdata_width"]
    mm2s, s2mm = dma_stream_width(win), dma_stream_width(wout)
    streams = (_stream_link("dma/M_AXIS_MM2S", f"accel/{pin['port']}", "axis_in_width",
                            mm2s, win)
               + _stream_link(f"accel/{pout['port']}", "dma/S_AXIS_S2MM", "axis_out_width",
                              wout, s2mm))
    pattern, files = BOARD_PARTS[board.name]
    if backend == "hls":
        ip_repo, lib = "hls ip", "hls"
        needs = "run vitis_hls -f hls_synth.tcl in ../hls"
    else:
        ip_repo, lib = "vivado ip", "rtl"
        needs = "run vivado -mode batch -source package_rtl_ip.tcl here"
    text = _fill(_BD, BOARD=board.name, PART=board.part, FAMILY=board.family, PATTERN=pattern,
                 BOARD_FILES=files, CLOCK=_num(clock_mhz), IP_REPO=ip_repo, BACKEND=backend,
                 VLNV=f"{VENDOR}:{lib}:{TOP}:1.0", IN=pin["port"], OUT=pout["port"],
                 BD=BD_NAME, MM2S_W=mm2s, MM2S_MM=max(32, mm2s), S2MM_W=s2mm,
                 S2MM_MM=max(32, s2mm), NEEDS=needs,
                 PS=_PS7 if board.family == "zynq-7000" else _PSU,
                 STREAMS="\n".join(streams))
    return text

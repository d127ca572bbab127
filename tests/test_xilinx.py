"""flow/backends/xilinx.py: the Tcl it writes, and how it runs (fake) Xilinx tools. No real tool runs
here; with tclsh the scripts' own Tcl logic runs against stubbed Vivado / Vitis HLS commands."""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from flow.backends import xilinx
from flow.boards import get_board
from flow.backends.xilinx import XilinxError


def ports(in_w=8, out_w=24, n_in=1, n_out=1):
    ins = [{"port": "s_axis" if n_in == 1 else f"s_axis_{k}", "tdata_width": in_w,
            "beats_per_frame": 16, "tensor": f"in{k}", "shape": [4, 4, 1]} for k in range(n_in)]
    outs = [{"port": "m_axis" if n_out == 1 else f"m_axis_{k}", "tdata_width": out_w,
             "beats_per_frame": 4, "tensor": f"out{k}", "shape": [2, 2, 1]} for k in range(n_out)]
    return {"inputs": ins, "outputs": outs}


PYNQ = get_board("pynq-z2")
ZCU = get_board("zcu104")


def one_line(tcl: str) -> str:
    """The script with its backslash-continued commands joined, as Tcl reads them."""
    return re.sub(r"\s*\\\n\s*", " ", tcl)


def files_under(d: Path) -> list[Path]:
    return sorted(p for p in d.rglob("*") if p.is_file()) if d.exists() else []


# --- the scripts -----------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["hls", "rtl"])
@pytest.mark.parametrize("board", [PYNQ, ZCU], ids=lambda b: b.name)
def test_scripts_written(tmp_path, backend, board):
    clock = 100.0 if board is PYNQ else 200.0
    written = xilinx.write_scripts(tmp_path, board, backend, ports(), clock)
    assert set(written) == set(files_under(tmp_path))
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    bd = (tmp_path / "vivado" / "block_design.tcl").read_text()
    if backend == "hls":
        assert names == {"hls/hls_synth.tcl", "vivado/block_design.tcl"}
        hls = (tmp_path / "hls" / "hls_synth.tcl").read_text()
        assert f"set_part {board.part}" in hls
        period = "10.000" if clock == 100 else "5.000"
        assert f"create_clock -period {period}" in hls
        assert "set_top accelerator" in hls and "-std=c++14 -I." in hls
        assert "-flow_target vivado" in hls and "add_files -tb csim_tb.cpp" in hls
        assert "export_design -format ip_catalog -rtl verilog -vendor binhg -library hls " \
               "-ipname accelerator -version 1.0" in one_line(hls)
        assert "vitis_hls -f hls_synth.tcl" in hls            # how to run it, in the header
        assert "binhg:hls:accelerator:1.0" in bd and "hls ip" in bd
    else:
        assert names == {"hls/hls_synth.tcl", "vivado/package_rtl_ip.tcl",
                         "vivado/block_design.tcl"}
        pkg = (tmp_path / "vivado" / "package_rtl_ip.tcl").read_text()
        assert f"set part       {board.part}" in pkg
        assert "filelist.f" in pkg and "*.mem" in pkg
        assert "ipx::package_project" in pkg
        assert "ipx::associate_bus_interfaces -busif $in_port -clock ap_clk" in pkg
        assert "ACTIVE_LOW" in pkg
        assert "vivado -mode batch -source package_rtl_ip.tcl" in pkg
        assert "binhg:rtl:accelerator:1.0" in bd and "vivado ip" in bd
    assert f"set part          {board.part}" in bd
    assert f"set clk_mhz       {int(clock)}" in bd
    assert "vivado -mode batch -source block_design.tcl" in bd
    if board.family == "zynq-7000":
        assert "processing_system7" in bd and "zynq_ultra_ps_e" not in bd
        assert "S_AXI_HP0" in bd and "FCLK_CLK0" in bd and "PCW_FPGA0_PERIPHERAL_FREQMHZ" in bd
        assert "*pynq-z2*" in bd
    else:
        assert "zynq_ultra_ps_e" in bd and "processing_system7" not in bd
        assert "S_AXI_HP0_FPD" in bd and "pl_clk0" in bd
        assert "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ" in bd and "*zcu104*" in bd
    # simple-mode DMA: 8-bit input stream as is, the 24-bit output padded to 32 bits
    assert "CONFIG.c_include_sg {0}" in bd and "CONFIG.c_sg_length_width {26}" in bd
    assert "CONFIG.c_m_axis_mm2s_tdata_width {8}" in bd
    assert "CONFIG.c_s_axis_s2mm_tdata_width {32}" in bd
    assert "CONFIG.TDATA_REMAP {8'b00000000,tdata[23:0]}" in bd
    assert "connect_bd_intf_net [get_bd_intf_pins dma/M_AXIS_MM2S] " \
           "[get_bd_intf_pins accel/s_axis]" in bd
    assert "xilinx.com:bd_rule:axi4" in bd and "apply_board_preset" in bd
    assert "get_board_parts" in bd and "error \"Vivado has no board part" in bd
    assert "launch_runs impl_1 -to_step write_bitstream" in bd
    assert "get_property PROGRESS" in bd and "get_property STATUS" in bd
    assert "file copy -force $bit [file join $bit_dir accelerator.bit]" in bd
    assert "file copy -force $hwh [file join $bit_dir accelerator.hwh]" in bd


def test_power_of_two_widths_connect_directly(tmp_path):
    xilinx.write_scripts(tmp_path, PYNQ, "rtl", ports(in_w=64, out_w=16), 100)
    bd = (tmp_path / "vivado" / "block_design.tcl").read_text()
    assert "axis_subset_converter" not in bd
    assert "CONFIG.c_m_axis_mm2s_tdata_width {64}" in bd
    assert "CONFIG.c_m_axi_mm2s_data_width {64}" in bd
    assert "CONFIG.c_s_axis_s2mm_tdata_width {16}" in bd
    assert "CONFIG.c_m_axi_s2mm_data_width {32}" in bd      # memory side is at least 32 bits
    assert "[get_bd_intf_pins accel/m_axis] [get_bd_intf_pins dma/S_AXIS_S2MM]" in bd


def test_dma_stream_width():
    assert [xilinx.dma_stream_width(w) for w in (8, 16, 24, 32, 40, 512, 1024)] == \
        [8, 16, 32, 32, 64, 512, 1024]


def test_rewrite_replaces_atomically(tmp_path):
    xilinx.write_scripts(tmp_path, PYNQ, "hls", ports(), 100)
    xilinx.write_scripts(tmp_path, PYNQ, "hls", ports(), 125)
    assert "create_clock -period 8.000" in (tmp_path / "hls" / "hls_synth.tcl").read_text()
    assert not [p for p in files_under(tmp_path) if p.suffix == ".tmp"]


@pytest.mark.parametrize("kwargs, words", [
    ({"backend": "vhdl"}, ["--backend", "hls", "rtl", "vhdl"]),
    ({"p": ports(n_out=2)}, ["one input and one output", "m_axis_0", "m_axis_1"]),
    ({"p": ports(n_in=2)}, ["s_axis_0", "s_axis_1"]),
    ({"p": {"inputs": [], "outputs": ports()["outputs"]}}, ["inputs: none"]),
    ({"p": ports(out_w=12)}, ["tdata_width 12", "m_axis"]),
    ({"p": ports(in_w=2048)}, ["tdata_width 2048", "1024"]),
    ({"clock": 0}, ["clock"]),
])
def test_refused(tmp_path, kwargs, words):
    with pytest.raises(ValueError) as e:
        xilinx.write_scripts(tmp_path / "out", PYNQ, kwargs.get("backend", "hls"),
                             kwargs.get("p", ports()), kwargs.get("clock", 100))
    for w in words:
        assert w in str(e.value)
    assert not (tmp_path / "out").exists()


def test_the_dma_rule_names_the_streams_it_cannot_carry():
    assert xilinx.dma_refusal(ports()) == ""
    why = xilinx.dma_refusal(ports(n_out=2))
    assert "m_axis_0" in why and "m_axis_1" in why and "s_axis" in why


def test_bad_port_name_refused(tmp_path):
    p = ports()
    p["inputs"][0]["port"] = "s axis; exec rm"
    with pytest.raises(ValueError, match="identifier"):
        xilinx.write_scripts(tmp_path, PYNQ, "rtl", p, 100)
    assert files_under(tmp_path) == []


# --- finding and running the tools -----------------------------------------------------------

def test_tool_missing(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    why = xilinx.tool_missing("vitis_hls")
    assert "vitis_hls is not on PATH" in why and "hls/hls_synth.tcl" in why
    assert "vivado is not on PATH" in xilinx.tool_missing("vivado")
    fake(empty, "vivado", "exit 0")
    assert xilinx.tool_missing("vivado") is None


def fake(bindir: Path, name: str, body: str) -> Path:
    """A stand-in tool: a shell script whose last argument is the Tcl script it was given."""
    bindir.mkdir(exist_ok=True)
    exe = bindir / name
    exe.write_text('#!/bin/sh\nfor a in "$@"; do last="$a"; done\n'
                   f'echo "fake {name} $*"\n{body}\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


@pytest.fixture
def fakebin(tmp_path, monkeypatch):
    d = tmp_path / "fakebin"
    d.mkdir()
    monkeypatch.setenv("PATH", f"{d}{os.pathsep}{os.environ.get('PATH', '')}")
    return d


WRITES_BIT = ('if [ "$last" = block_design.tcl ]; then mkdir -p ../bitfile; '
              'echo bit > ../bitfile/accelerator.bit; echo hwh > ../bitfile/accelerator.hwh; fi')
WRITES_IP = ('if [ "$last" = package_rtl_ip.tcl ]; then mkdir -p ip; '
             'echo xml > ip/component.xml; fi')


def hls_out(tmp_path) -> Path:
    out = tmp_path / "out"
    xilinx.write_scripts(out, PYNQ, "hls", ports(), 100)
    (out / "hls" / "ip").mkdir(parents=True)
    (out / "hls" / "ip" / "component.xml").write_text("xml")      # as if exported before
    return out


def rtl_out(tmp_path) -> Path:
    out = tmp_path / "out"
    xilinx.write_scripts(out, ZCU, "rtl", ports(), 200)
    (out / "rtl").mkdir()
    (out / "rtl" / "filelist.f").write_text("accelerator.sv\n")
    return out


def test_bitstream_tool_writes_nothing(tmp_path, fakebin):
    fake(fakebin, "vivado", "exit 0")
    out = hls_out(tmp_path)
    (out / "bitfile").mkdir()
    (out / "bitfile" / "accelerator.bit").write_text("stale")   # from some earlier build
    with pytest.raises(XilinxError) as e:
        xilinx.run_bitstream(out, "hls")
    msg = str(e.value)
    assert "accelerator.bit" in msg and "missing" in msg and "vivado.log" in msg
    assert "fake vivado" in msg                                  # the log's tail
    assert not (out / "bitfile" / "accelerator.bit").exists()


def test_bitstream_tool_fails(tmp_path, fakebin):
    fake(fakebin, "vivado", "echo 'ERROR: [Place 30-58] something'; exit 1")
    out = hls_out(tmp_path)
    logs = []
    with pytest.raises(XilinxError) as e:
        xilinx.run_bitstream(out, "hls", log=logs.append)
    msg = str(e.value)
    assert "exited with code 1" in msg and str(out / "vivado" / "vivado.log") in msg
    assert "Place 30-58" in msg
    assert logs and "vivado" in logs[0]


def test_bitstream_ok_hls(tmp_path, fakebin):
    fake(fakebin, "vivado", WRITES_BIT)
    out = hls_out(tmp_path)
    info = xilinx.run_bitstream(out, "hls")
    assert sorted(info["files"]) == [str(out / "bitfile" / "accelerator.bit"),
                                     str(out / "bitfile" / "accelerator.hwh")]
    assert info["seconds"] >= 0
    log = (out / "vivado" / "vivado.log").read_text()
    assert "-mode batch -nolog -nojournal -source block_design.tcl" in log
    assert "package_rtl_ip.tcl" not in log


def test_bitstream_ok_rtl_runs_packaging_first(tmp_path, fakebin):
    fake(fakebin, "vivado", WRITES_IP + "\n" + WRITES_BIT)
    out = rtl_out(tmp_path)
    info = xilinx.run_bitstream(out, "rtl")
    assert len(info["files"]) == 2
    log = (out / "vivado" / "vivado.log").read_text()
    assert log.index("-source package_rtl_ip.tcl") < log.index("-source block_design.tcl")


def test_bitstream_rtl_packaging_writes_nothing(tmp_path, fakebin):
    fake(fakebin, "vivado", WRITES_BIT)
    out = rtl_out(tmp_path)
    with pytest.raises(XilinxError, match="component.xml"):
        xilinx.run_bitstream(out, "rtl")
    assert not (out / "bitfile").exists()       # stopped before the block design


def test_bitstream_hls_needs_exported_ip(tmp_path, fakebin):
    fake(fakebin, "vivado", WRITES_BIT)
    out = tmp_path / "out"
    xilinx.write_scripts(out, PYNQ, "hls", ports(), 100)
    with pytest.raises(XilinxError, match="Vitis HLS first"):
        xilinx.run_bitstream(out, "hls")


def test_without_tool_nothing_is_touched(tmp_path, monkeypatch):
    out = hls_out(tmp_path)
    (out / "bitfile").mkdir()
    (out / "bitfile" / "accelerator.bit").write_text("from a machine with Vivado")
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(XilinxError, match="vivado is not on PATH"):
        xilinx.run_bitstream(out, "hls")
    with pytest.raises(XilinxError, match="vitis_hls is not on PATH"):
        xilinx.run_hls_synth(out)
    assert (out / "bitfile" / "accelerator.bit").exists()
    assert (out / "hls" / "ip" / "component.xml").exists()


def test_hls_synth_ok(tmp_path, fakebin):
    fake(fakebin, "vitis_hls", 'mkdir -p ip/sub && echo xml > ip/component.xml')
    out = tmp_path / "out"
    xilinx.write_scripts(out, PYNQ, "hls", ports(), 100)
    info = xilinx.run_hls_synth(out, log=None)
    assert info["files"] == [str(out / "hls" / "ip" / "component.xml")]
    assert info["vlnv"] == "binhg:hls:accelerator:1.0"
    log = (out / "hls" / "vitis_hls.log").read_text()
    assert "-f hls_synth.tcl" in log and "-l vitis_hls.tool.log" in log


def test_hls_synth_writes_nothing(tmp_path, fakebin):
    fake(fakebin, "vitis_hls", "exit 0")
    out = tmp_path / "out"
    xilinx.write_scripts(out, PYNQ, "hls", ports(), 100)
    (out / "hls" / "ip").mkdir()
    (out / "hls" / "ip" / "component.xml").write_text("stale")
    with pytest.raises(XilinxError) as e:
        xilinx.run_hls_synth(out, log=None)
    assert "vitis_hls" in str(e.value) and "component.xml" in str(e.value)
    assert "vitis_hls.log" in str(e.value)


def test_hls_synth_fails(tmp_path, fakebin):
    fake(fakebin, "vitis_hls", "echo 'ERROR: [HLS 200-70] compilation failed'; exit 3")
    out = tmp_path / "out"
    xilinx.write_scripts(out, PYNQ, "hls", ports(), 100)
    with pytest.raises(XilinxError) as e:
        xilinx.run_hls_synth(out, log=None)
    assert "exited with code 3" in str(e.value) and "HLS 200-70" in str(e.value)
    assert str(out / "hls" / "vitis_hls.log") in str(e.value)


# --- Tcl sanity, with tclsh when present -----------------------------------------------------

needs_tclsh = pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh not installed")


@needs_tclsh
@pytest.mark.parametrize("backend", ["hls", "rtl"])
@pytest.mark.parametrize("board", [PYNQ, ZCU], ids=lambda b: b.name)
def test_tcl_complete(tmp_path, backend, board):
    for path in xilinx.write_scripts(tmp_path, board, backend, ports(), 100):
        r = subprocess.run(["tclsh"], input=f"puts [info complete [read [open {{{path}}}]]]\n",
                           capture_output=True, text=True, check=True)
        assert r.stdout.strip() == "1", path


# Every Vivado / Vitis HLS command answered by `unknown`: the scripts' own Tcl (variables,
# control flow, file handling, error paths) runs for real. Each call is printed as "CALL: ...".
MOCK = r"""
proc unknown {cmd args} {
    puts "CALL: $cmd $args"
    set last [lindex $args end]
    switch -glob -- $cmd {
        get_board_parts { return $::env(MOCK_BOARD_PART) }
        get_ipdefs { return [string map {* 9.9} $last] }
        get_runs - get_files - get_bd_cells { return $last }
        current_project { return prj }
        get_bd_pins - get_bd_intf_pins {
            if {[string match *ap_start $last] || [string match *s_axi_control $last]} { return "" }
            return $last
        }
        get_property {
            lassign $args prop obj
            switch -- $prop {
                PROGRESS { return "100%" }
                STATUS { return [expr {$obj eq "synth_1" ? "synth_design Complete!" : "write_bitstream Complete!"}] }
                DIRECTORY { return [expr {$obj eq "impl_1" ? $::env(MOCK_IMPL) : $::env(MOCK_PRJ)}] }
                PART { return $::part }
                VLNV { return $obj }
                STATS.WNS { return $::env(MOCK_WNS) }
                STATS.WHS { return 0.05 }
            }
            return ""
        }
        export_design {
            file mkdir hls_prj/sol1/impl/ip
            close [open hls_prj/sol1/impl/ip/component.xml w]
        }
        ipx::current_core { return core }
        ipx::get_bus_interfaces - ipx::get_file_groups {
            foreach a $args { if {![string match -* $a]} { return $a } }
        }
        ipx::save_core { close [open [file join $::ip_dir component.xml] w] }
    }
    return ""
}
"""


def tcl_dry_run(script: Path, env: dict) -> subprocess.CompletedProcess:
    driver = script.parent / "_dry_run.tcl"
    driver.write_text(MOCK + f"source {{{script}}}\n")
    r = subprocess.run(["tclsh", str(driver)], capture_output=True, text=True,
                       cwd=script.parent, env={**os.environ, **env})
    driver.unlink()
    return r


def mock_env(out: Path, wns="0.123", board_part="tul.com.tw:pynq-z2:part0:1.0") -> dict:
    prj, impl = out / "vivado" / "prj", out / "vivado" / "prj" / "impl_1"
    handoff = prj / "accelerator_prj.gen/sources_1/bd/accelerator_bd/hw_handoff"
    handoff.mkdir(parents=True)
    (handoff / "accelerator_bd.hwh").write_text("hwh")
    impl.mkdir(parents=True)
    (impl / "accelerator_bd_wrapper.bit").write_text("bit")
    return {"MOCK_PRJ": str(prj), "MOCK_IMPL": str(impl), "MOCK_WNS": wns,
            "MOCK_BOARD_PART": board_part}


@needs_tclsh
def test_tcl_dry_run_hls(tmp_path):
    out = tmp_path / "out"
    xilinx.write_scripts(out, PYNQ, "hls", ports(), 100)
    r = tcl_dry_run(out / "hls" / "hls_synth.tcl", {})
    assert r.returncode == 0, r.stderr
    assert "CALL: export_design -format ip_catalog" in r.stdout
    assert (out / "hls" / "ip" / "component.xml").exists()
    env = mock_env(out)
    r = tcl_dry_run(out / "vivado" / "block_design.tcl", env)
    assert r.returncode == 0, r.stdout + r.stderr
    calls = r.stdout
    assert "CALL: create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:9.9 ps" in calls
    assert "CALL: create_bd_cell -type ip -vlnv binhg:hls:accelerator:1.0 accel" in calls
    assert "CALL: connect_bd_net ps/FCLK_CLK0 accel/ap_clk" in calls
    assert "CALL: connect_bd_net ps/FCLK_CLK0 axis_out_width/aclk" in calls
    assert "CALL: connect_bd_net rst_fabric/peripheral_aresetn accel/ap_rst_n" in calls
    assert "CALL: launch_runs impl_1 -to_step write_bitstream -jobs 4" in calls
    assert (out / "bitfile" / "accelerator.bit").read_text() == "bit"
    assert (out / "bitfile" / "accelerator.hwh").read_text() == "hwh"


@needs_tclsh
def test_tcl_dry_run_rtl(tmp_path):
    out = tmp_path / "out"
    xilinx.write_scripts(out, ZCU, "rtl", ports(), 200)
    (out / "rtl").mkdir()
    (out / "rtl" / "filelist.f").write_text("a.sv\n\naccelerator.sv\n")
    (out / "rtl" / "u_0_weights.mem").write_text("00\n")
    r = tcl_dry_run(out / "vivado" / "package_rtl_ip.tcl", {})
    assert r.returncode == 0, r.stdout + r.stderr
    rtl = out / "rtl"
    assert f"CALL: add_files -norecurse {{{rtl}/a.sv {rtl}/accelerator.sv}}" in r.stdout
    assert f"CALL: add_files -norecurse {rtl}/u_0_weights.mem" in r.stdout
    assert "CALL: ipx::package_project" in r.stdout
    # the mock's IP has no ROM file in its file groups, so the script adds it itself
    assert (out / "vivado" / "ip" / "src" / "u_0_weights.mem").exists()
    r = tcl_dry_run(out / "vivado" / "block_design.tcl",
                    mock_env(out, board_part="xilinx.com:zcu104:part0:1.1"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "xilinx.com:ip:zynq_ultra_ps_e:9.9 ps" in r.stdout
    assert "CALL: connect_bd_net ps/pl_clk0 ps/saxihp0_fpd_aclk" in r.stdout
    assert "binhg:rtl:accelerator:1.0 accel" in r.stdout
    assert (out / "bitfile" / "accelerator.bit").exists()


@needs_tclsh
def test_tcl_dry_run_refusals(tmp_path):
    out = tmp_path / "out"
    xilinx.write_scripts(out, PYNQ, "hls", ports(), 100)
    (out / "hls" / "ip").mkdir(parents=True)
    (out / "hls" / "ip" / "component.xml").write_text("xml")
    r = tcl_dry_run(out / "vivado" / "block_design.tcl", mock_env(out, board_part=""))
    assert r.returncode != 0
    assert "no board part matching *pynq-z2*" in r.stderr and "PYNQ-Z2 board files" in r.stderr
    assert "create_bd_design" not in r.stdout
    shutil.rmtree(out / "vivado" / "prj")
    r = tcl_dry_run(out / "vivado" / "block_design.tcl", mock_env(out, wns="-0.4"))
    assert r.returncode != 0 and "timing not met" in r.stderr
    assert not (out / "bitfile" / "accelerator.bit").exists()

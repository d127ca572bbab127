"""The cocotb testbench of every generated accelerator top (flow/backends/rtlgen.py): one bench, any DUT
built from a hardware graph, driven through its AXI-Stream ports.

It reads a job (JSON, path in $BINHG_SIM_JOB, written by sim/harness.py): the beats to send on
every input port, how many to expect on every output port, the random tvalid gaps / tready
backpressure, an optional reset in the middle of a first frame, and a watchdog limit. It writes
what arrived (beats and their cycles) to the job's result file; the harness compares it with the
golden model. The watchdog fails the test when no beat moves on any stream of the design for too
long (the top's `dbg_any_beat`) and names the layers that hold offered input without being
blocked by their consumers.

Per cycle: drive on the falling edge, then sample valid/ready in the read-only phase before the
rising edge, which is when the beats that are sampled as valid && ready move.
"""
from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge
from cocotb.triggers import ReadOnly
from cocotb.triggers import RisingEdge


class _In:
    def __init__(self, dut, spec, beats):
        self.name = spec["port"]
        self.tdata = getattr(dut, f"{self.name}_tdata")
        self.tvalid = getattr(dut, f"{self.name}_tvalid")
        self.tready = getattr(dut, f"{self.name}_tready")
        self.beats = beats
        self.idx = 0
        self.presented = False


class _Out:
    def __init__(self, dut, spec):
        self.name = spec["port"]
        self.tdata = getattr(dut, f"{self.name}_tdata")
        self.tvalid = getattr(dut, f"{self.name}_tvalid")
        self.tready = getattr(dut, f"{self.name}_tready")
        self.tlast = getattr(dut, f"{self.name}_tlast")
        self.expect = spec["beats"]
        self.frame = spec["beats_per_frame"]
        self.beats: list[int] = []
        self.cycles: list[int] = []
        self.tlast_errors: list[int] = []


class Deadlock(AssertionError):
    pass


def _diagnose(dut, job, cycle, state) -> str:
    """Which layers hold offered input without being blocked downstream (`state` gets every
    stream's (tvalid, tready), for the result file)."""
    for s in job["streams"]:
        w = s["wire"]
        state[w] = (int(getattr(dut, f"{w}_tvalid").value), int(getattr(dut, f"{w}_tready").value))
    stalled = []
    for inst, layer in job["instances"].items():
        ins = [s for s in job["streams"] if s["consumer"] == inst]
        outs = [s for s in job["streams"] if s["producer"] == inst]
        offered = [s["tensor"] for s in ins if state[s["wire"]] == (1, 0)]
        blocked = [s["tensor"] for s in outs if state[s["wire"]] == (1, 0)]
        empty = [s["tensor"] for s in ins if state[s["wire"]][0] == 0]
        if offered and not blocked:
            stalled.append(f"'{layer}' holds offered input on {offered}"
                           + (f" while waiting for data on {empty}" if empty else ""))
    msg = f"deadlock: no beat moved on any stream for {job['watchdog']} cycles (cycle {cycle})."
    if stalled:
        msg += " Stalled layer(s): " + "; ".join(stalled) + "."
    full = sorted({s["tensor"] for s in job["streams"] if state[s["wire"]] == (1, 0)})
    if full:
        msg += f" Streams with a beat waiting: {full}."
    return msg


async def _reset(dut, ins, outs, cycles=4):
    await FallingEdge(dut.ap_clk)     # (callers may be in the read-only phase)
    dut.ap_rst_n.value = 0
    for p in ins:
        p.tvalid.value = 0
        p.presented = False
    for p in outs:
        p.tready.value = 0
    for _ in range(cycles):
        await RisingEdge(dut.ap_clk)
    await FallingEdge(dut.ap_clk)
    dut.ap_rst_n.value = 1


async def _run(dut, job, ins, outs, rng, stop_after_in=None, record=True):
    """Stream until every expected output beat arrived (or, with stop_after_in, until that
    many beats went in on port 0 or the cycle budget is spent). Returns the cycles used."""
    vp, rp = job["valid_prob"], job["ready_prob"]
    life = dut.dbg_any_beat
    cycle, idle = 0, 0
    while True:
        await FallingEdge(dut.ap_clk)
        for p in ins:
            if not p.presented and p.idx < len(p.beats) and rng.random() < vp:
                p.tdata.value = p.beats[p.idx]
                p.tvalid.value = 1
                p.presented = True
            elif not p.presented:
                p.tvalid.value = 0
        readies = []
        for p in outs:
            r = 1 if rng.random() < rp else 0
            p.tready.value = r
            readies.append(r)
        await ReadOnly()
        moved = False
        for p in ins:
            if p.presented and int(p.tready.value):
                p.idx += 1
                p.presented = False
                moved = True
        for p, r in zip(outs, readies):
            if r and int(p.tvalid.value):
                moved = True
                if record:
                    n = len(p.beats)
                    last = int(p.tlast.value)
                    if last != int((n + 1) % p.frame == 0):
                        p.tlast_errors.append(n)
                    p.beats.append(p.tdata.value.to_unsigned())
                    p.cycles.append(cycle)
        cycle += 1
        idle = 0 if moved or int(life.value) else idle + 1
        if stop_after_in is not None:
            if ins[0].idx >= stop_after_in or cycle > job["watchdog"]:
                return cycle
        elif (all(len(p.beats) >= p.expect for p in outs)
              and all(p.idx == len(p.beats) for p in ins)):
            return cycle
        if idle > job["watchdog"]:
            raise Deadlock(_diagnose(dut, job, cycle, job.setdefault("state", {})))


@cocotb.test()
async def stream_bench(dut):
    with open(os.environ["BINHG_SIM_JOB"]) as f:
        job = json.load(f)
    rng = random.Random(job["seed"])
    Clock(dut.ap_clk, 10, unit="ns").start()
    outs = [_Out(dut, s) for s in job["outputs"]]
    result = {"outputs": {}, "reset_mid_frame": False}
    if job.get("reset_after"):
        # a partial first frame, then reset: nothing of it may leak into what follows
        ins = [_In(dut, s, s["data"][:job["reset_after"]]) for s in job["inputs"]]
        await _reset(dut, ins, outs)
        await _run(dut, job, ins, outs, rng, stop_after_in=job["reset_after"], record=False)
        result["reset_mid_frame"] = True
    ins = [_In(dut, s, s["data"]) for s in job["inputs"]]
    await _reset(dut, ins, outs)
    try:
        result["cycles"] = await _run(dut, job, ins, outs, rng)
    except Deadlock as e:
        result["error"] = str(e)
        result["stream_state"] = job.get("state", {})
        result["inputs_consumed"] = {p.name: p.idx for p in ins}
        raise
    finally:
        for p in outs:
            result["outputs"][p.name] = {"beats": [hex(b) for b in p.beats],
                                         "cycles": p.cycles, "tlast_errors": p.tlast_errors}
        with open(job["result"], "w") as f:
            json.dump(result, f)
    # a few more cycles: the DUT must not produce extra beats
    extra = {p.name: 0 for p in outs}
    for _ in range(job.get("drain", 64)):
        await FallingEdge(dut.ap_clk)
        for p in ins:
            p.tvalid.value = 0
        for p in outs:
            p.tready.value = 1
        await ReadOnly()
        for p in outs:
            extra[p.name] += int(p.tvalid.value)
    result["extra_beats"] = extra
    with open(job["result"], "w") as f:
        json.dump(result, f)

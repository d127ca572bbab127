"""The compiler: a binary network's QONNX -> FINN -> hardware graph -> RTL, HLS C++, Tcl,
reports and the PYNQ driver. `python flow/build.py` runs it as named, checkpointed steps.

The package is laid out by stage; each stage imports only from itself, from the stages
before it, and from the core (tests/test_layout.py checks it):

    core       hwgraph.py (the hardware graph), layers/ (one description per layer kind:
               semantics, cycles, resources), golden.py (the NumPy golden model), boards.py,
               encoding.py (how the input stream holds the source's input codes)
    frontend/  QONNX -> FINN-ONNX -> hardware graph, exact integer thresholds, the
               streamlining transformations, the golden model checked against FINN
    planning/  folding (PE/SIMD per layer, the estimate) and FIFO depths
    backends/  generators: rtl/ (hw/ instances), hls/ (hls/ kernels), Xilinx Tcl; the
               stream word format and the fixed-width parameters they share
    measure/   Yosys synthesis, HLS C simulation, RTL simulation (the one door into sim/),
               the report and the bench
    deploy/    the deploy/ folder: the PYNQ driver and its configuration
    pipeline/  the build steps and their runner, which call every stage in order
    examples/  networks written as users write them (flow/README.md, "Bring your own
               network"); they may use every stage, nothing imports them
"""

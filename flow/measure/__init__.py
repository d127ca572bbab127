"""Measurement: what the generated design really does and costs.

synth.py runs Yosys on rtl/; hls_csim.py compiles and runs the HLS C simulation with g++;
simulate.py is flow/'s one door into sim/ (the Verilator benches); report.py puts cycles,
frame rate and resources per layer beside what was measured; bench.py benchmarks whole builds.
Reads: the core, planning and backends.
"""

"""Backends: a folded hardware graph with FIFOs -> files for the tools.

rtlgen.py writes rtl/ (hw/ instances, ROM files, the stitched top), hlsgen.py writes hls/
(hls/ kernel calls in a DATAFLOW top), xilinx.py the Vitis HLS / Vivado Tcl. Both generators
take the stream word format from stream_format.py, the fixed-width parameters from
hwparams.py and the width converters from flow/layers/width_converter.py. Reads: the core.
"""

"""Planning: how parallel each layer is and how deep each FIFO must be, for a board.

folding.py chooses PE/SIMD per layer for a target frame rate or the fastest design that fits,
with the resource estimate (from flow/layers/) it decides by; fifo_depths.py sizes the FIFOs
from a pixel schedule of several frames. Reads: the core and boards.
"""

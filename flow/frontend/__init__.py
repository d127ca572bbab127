"""Front end: from the user's QONNX to a hardware graph that computes what it computes.

convert.py runs FINN's ConvertQONNXtoFINN; lower.py turns the FINN graph into hardware
layers, absorbing every float chain into exact integer thresholds (thresholds.py); the
transformations (transforms.py, requant_fit.py) streamline it into MVTUs, saturating adds and
explicit fan-outs; verify.py checks the golden model against FINN's execution, stream by
stream. Reads: the core (hwgraph, layers, golden). Never: planning, backends, measure.
"""

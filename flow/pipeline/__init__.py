"""The build as named, checkpointed steps (FINN's build_dataflow shape): runner.py runs and
checkpoints them, steps.py defines them in order, one stage each. The only package that calls
every other stage; nothing imports it but the command lines (flow/build.py, flow/bench.py).
"""

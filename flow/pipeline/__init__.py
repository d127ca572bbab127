"""The build as named, checkpointed steps (FINN's build_dataflow shape): runner.py runs and
checkpoints them, steps.py defines them in order, one stage each; source.py loads the network
and refuses what the flow cannot build; inputs.py names what each step's output depends on and
state.py records it in the build folder (build_state.json), checks it when a build resumes,
and locks the folder. The only package that calls every other stage; nothing imports it but
the command lines (flow/build.py, flow/bench.py).
"""

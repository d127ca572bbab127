"""Networks written as a user writes them (plain Brevitas layers, nothing of brevitas_models),
which flow/README.md's "Bring your own network" shows and the tests build end to end. They
may use any stage of the flow (its Python API), and nothing of the flow imports them."""

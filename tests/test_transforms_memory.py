"""DistributeAddOverConcat (flow/frontend/transforms.py): adding a residual to a concat group
by group computes the same function and holds less in the skip links."""
from __future__ import annotations

import numpy as np

from flow import golden
from flow.frontend.transforms import DistributeAddOverConcat
from flow.frontend.transforms import InsertDuplicateStreams
from flow.hwgraph import HwGraph
from flow.hwgraph import HwNode
from flow.hwgraph import HwTensor
from flow.hwgraph import apply_all
from flow.planning.fit import ideal_fifo_bits


def block_graph(size: int = 16) -> HwGraph:
    """An HPM-like block: x + concat(a, b, c), where a, b and c are channel groups of x
    delayed by one, two and three pool -> upsample round trips (rows of lag)."""
    g = HwGraph()
    g.add_tensor(HwTensor("x", (size, size, 8), "INT8"))
    g.inputs = ["x"]
    groups = []
    for k, (start, stop) in enumerate(((0, 4), (4, 6), (6, 8))):
        t = g.add_tensor(HwTensor(f"g{k}", (size, size, stop - start), "INT8")).name
        g.add_node(HwNode(f"slice{k}", "slice_channels", ["x"], [t],
                          {"start": start, "stop": stop}))
        for r in range(k + 1):
            p = g.add_tensor(HwTensor(f"p{k}_{r}", (size // 2, size // 2, stop - start),
                                      "INT8")).name
            g.add_node(HwNode(f"pool{k}_{r}", "maxpool", [t], [p], {"kernel": 2}))
            t = g.add_tensor(HwTensor(f"u{k}_{r}", (size, size, stop - start), "INT8")).name
            g.add_node(HwNode(f"up{k}_{r}", "upsample", [p], [t], {"factor": 2}))
        groups.append(t)
    g.add_tensor(HwTensor("cat", (size, size, 8), "INT8"))
    g.add_node(HwNode("concat", "concat", groups, ["cat"]))
    g.add_tensor(HwTensor("y", (size, size, 8), "INT8"))
    g.add_node(HwNode("add", "add", ["cat", "x"], ["y"], {"out_min": -128, "out_max": 127}))
    g.outputs = ["y"]
    g.topo_sort()     # x has several readers: InsertDuplicateStreams comes after, as in a build
    return g


def test_distributed_add_is_the_same_function_with_less_skip_memory():
    before = block_graph()
    after = block_graph()
    assert DistributeAddOverConcat().apply(after)
    apply_all(after, [InsertDuplicateStreams()])
    apply_all(before, [InsertDuplicateStreams()])
    after.check()
    kinds = after.count_kinds()
    assert kinds["add"] == 3 and kinds["concat"] == 1 and kinds["slice_channels"] == 6
    assert after.outputs == ["y"] and after.producer("y").kind == "concat"
    rng = np.random.default_rng(0)
    feeds = {"x": rng.integers(-128, 128, size=(2, 16, 16, 8))}
    np.testing.assert_array_equal(golden.execute(after, feeds)["y"],
                                  golden.execute(before, feeds)["y"])
    held_before = sum(ideal_fifo_bits(before).values())
    held_after = sum(ideal_fifo_bits(after).values())
    assert held_after < 0.85 * held_before, (held_before, held_after)


def test_only_a_saturating_add_of_a_concat_read_once_is_distributed():
    g = block_graph()
    g.node("add").attrs.clear()          # not a saturating add: left alone
    assert not DistributeAddOverConcat().apply(g)
    g = block_graph()
    g.outputs.append("cat")              # the concat is also an output: left alone
    assert not DistributeAddOverConcat().apply(g)

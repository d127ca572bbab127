"""flow/planning/fit.py: the memory a network needs at any folding, and the refusal that
check_fit and fold share: fast, naming the figure that does not fit and what would."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flow.boards import get_board
from flow.hwgraph import HwNode
from flow.hwgraph import HwTensor
from flow.planning import folding
from flow.planning.fifo_depths import fifo_depths
from flow.planning.fit import FitError
from flow.planning.fit import MemoryNeed
from flow.planning.fit import capacity
from flow.planning.fit import check_memory
from flow.planning.fit import ideal_fifo_bits
from flow.planning.fit import logic_luts
from flow.planning.fit import memory_bound
from flow.planning.folding import FoldingError
from flow.planning.folding import choose_folding
from flow.planning.folding import fold_to_cycles
from test_fifo_depths import hourglass_graph


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_ideal_fifos_are_a_lower_bound_at_every_folding(levels):
    g = hourglass_graph(size=16, levels=levels)
    ideal = ideal_fifo_bits(g)
    assert ideal and set(ideal) <= set(g.tensors)
    for period in (1, 3_000, 100_000, 1 << 40):
        for sd in (None, 1):
            fold_to_cycles(g, period, sd)
            depths, _ = fifo_depths(g)
            for name, bits in ideal.items():
                assert depths[name] * 4 * 8 >= bits, (name, period, sd)


def test_logic_floor_is_the_cheapest_folding_of_each_layer():
    g = hourglass_graph(size=16, levels=2)
    floor = logic_luts(g)
    for period in (1, 1 << 40):
        fold_to_cycles(g, period)
        assert sum(folding.layer_of(n).estimate(n, g).lut for n in g.nodes) >= floor
    assert all("weight_rom" not in n.attrs for n in g.nodes)   # left as found


def test_weights_never_count_ultraram():
    zcu = get_board("zcu104")
    cap = capacity(zcu)
    assert cap.weights == cap.bram_bits + cap.lut_bits < cap.total
    with pytest.raises(FitError, match=r"weights need .*UltraRAMs .* cannot hold weights.*"
                                       r"Short by [\d.]+ Mibit"):
        check_memory(MemoryNeed(int(cap.weights) + 2**20, 0, 0), zcu, "model 'x'")
    info = check_memory(MemoryNeed(int(cap.weights) - 1, 0, 0), zcu, "model 'x'")
    assert info["capacity_bits"]["uram"] == int(cap.uram_bits)


def test_fifos_over_the_board_are_refused_naming_them():
    g = hourglass_graph(size=16, levels=2)
    need = memory_bound(g)
    assert need.fifo_bits == sum(need.fifo_streams.values()) > 0
    small = dataclasses.replace(get_board("pynq-z2"), bram36=0, uram=0, lut=500)
    with pytest.raises(FitError, match=r"skip links' FIFOs need at least [\d.]+ Kibit at any "
                                       r"folding \(the largest: 't1'.*no UltraRAM.*Short by "
                                       r"[\d.]+ Kibit.*DDR"):
        check_memory(need, small, "the network")


def test_fold_refuses_before_the_search(monkeypatch):
    g = hourglass_graph(size=16, levels=2)
    small = dataclasses.replace(get_board("pynq-z2"), bram36=0, uram=0, lut=500)

    def no_search(*a, **k):
        raise AssertionError("the folding search ran")

    monkeypatch.setattr(folding, "_fit_at", no_search)
    with pytest.raises(FoldingError, match="does not fit board 'pynq-z2'"):
        choose_folding(g, small)


def test_weight_bits_of_the_mvtus():
    g = hourglass_graph(size=8, levels=1)
    rng = np.random.default_rng(0)
    out = g.outputs[0]
    g.add_tensor(HwTensor("h", (8, 8, 3), "UINT5"))
    g.add_node(HwNode("mvtu", "xnor_mvtu", [out], ["h"], {"pe": 1, "simd": 1},
                      {"weights": rng.integers(0, 2, size=(3, 4)).astype(np.uint8)}))
    g.outputs = ["h"]
    assert memory_bound(g).weight_bits == 12


def test_ultraram_holds_the_fifos_in_whole_blocks():
    g = hourglass_graph(size=16, levels=2)
    need = memory_bound(g)
    blocks = sum(need.fifo_urams.values())
    assert blocks >= 1 and need.uram_held(blocks) == need.fifo_bits and need.uram_held(0) == 0
    roomy = dataclasses.replace(get_board("zcu104"), bram36=0, lut=500,
                                uram=-(-blocks * 100 // 85))
    assert check_memory(need, roomy, "x")["fifo_bits_uram_holds"] == need.fifo_bits
    with pytest.raises(FitError, match=r"1 UltraRAMs at 85% hold 0.0 Kibit"):
        check_memory(need, dataclasses.replace(roomy, uram=1), "x")


def _named_by_the_user(g):
    """The graph as the lowering leaves it: every layer but the inserted fan-outs names the
    source node it came from (attrs "source", meta "source_names")."""
    names = {}
    for n in g.nodes:
        if n.kind != "duplicate":
            n.attrs["source"] = f"Finn_{n.name}"
            names[f"Finn_{n.name}"] = f"'Src_{n.name}' ({n.kind}, module 'hg.{n.name}')"
    g.meta["source_names"] = names
    return g


def test_a_refusal_names_the_skip_links_as_the_user_wrote_them():
    g = _named_by_the_user(hourglass_graph(size=16, levels=2))
    need = memory_bound(g)
    small = dataclasses.replace(get_board("pynq-z2"), bram36=0, uram=0, lut=500)
    with pytest.raises(FitError) as e:
        check_memory(need, small, "the network")
    # the largest: the top level's skip, from the graph input (nothing the user wrote
    # produces it) past the fan-out to the top level's add
    assert next(iter(need.fifo_streams)) == "t1"
    assert ("(the largest: 't1' (from the input to 'Src_add10' (add, module 'hg.add10'))"
            in str(e.value))


def test_layers_and_streams_are_described_past_the_inserted_layers():
    g = _named_by_the_user(hourglass_graph(size=16, levels=2))
    assert g.origin(g.node("dup2")) == ""            # the fan-out of the graph input
    assert g.describe(g.node("pool3")) == ("layer 'pool3' (maxpool, from 'Src_pool3' "
                                           "(maxpool, module 'hg.pool3'))")
    assert g.origin(g.node("dup5")) == g.origin(g.node("pool3"))   # what it carries
    # a stream into a fan-out is named by the layers behind the fan-out
    assert g.describe_stream("t3") == (
        "'t3' (from 'Src_pool3' (maxpool, module 'hg.pool3') to 'Src_add8' (add, module "
        "'hg.add8'), 'Src_pool6' (maxpool, module 'hg.pool6'))")
    # without the source's names (a graph built by hand), the layers' own
    bare = hourglass_graph(size=16, levels=2)
    assert bare.describe(bare.node("pool3")) == "layer 'pool3' (maxpool)"
    assert bare.describe_stream("t3") == "'t3' (from 'pool3' to 'add8', 'pool6')"

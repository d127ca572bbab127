// The top's AXI-Stream ports: tdata padded to whole bytes, TLAST on every frame's last output
// word (what an AXI DMA needs). Vitis HLS has ap_axiu in ap_axi_sdata.h; for C simulation
// without Vitis an equivalent struct with the same members is declared here.
#ifndef BINHG_AXIS_PORTS_HPP
#define BINHG_AXIS_PORTS_HPP

#include "binhg.hpp"

#if __has_include(<ap_axi_sdata.h>)
#include <ap_axi_sdata.h>
#else
template <int D, int U, int TI, int TD>
struct ap_axiu {
    ap_uint<D> data;
    ap_uint<(D + 7) / 8> keep;
    ap_uint<(D + 7) / 8> strb;
    ap_uint<1> last;
};
#endif

namespace binhg {

template <int TW, int W, int WORDS>
void axis_in(hls::stream<ap_axiu<TW, 0, 0, 0>> &s_axis, hls::stream<ap_uint<W>> &out) {
    for (int t = 0; t < WORDS; t++) {
#pragma HLS PIPELINE II=1
        out.write(ap_uint<W>(s_axis.read().data));   // the padding bits are dropped
    }
}

template <int W, int TW, int WORDS>
void axis_out(hls::stream<ap_uint<W>> &in, hls::stream<ap_axiu<TW, 0, 0, 0>> &m_axis) {
    for (int t = 0; t < WORDS; t++) {
#pragma HLS PIPELINE II=1
        ap_axiu<TW, 0, 0, 0> word;
        word.data = in.read();
        word.keep = -1;
        word.strb = -1;
        word.last = (t == WORDS - 1);
        m_axis.write(word);
    }
}

}  // namespace binhg

#endif

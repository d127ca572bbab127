// Fan-out, kind `duplicate`: every word to every output (a skip link's branch point). Two to
// four outputs.
#ifndef BINHG_DUPLICATE_HPP
#define BINHG_DUPLICATE_HPP

#include "binhg.hpp"

namespace binhg {

template <int W, int WORDS>
void duplicate(hls::stream<ap_uint<W>> &in, hls::stream<ap_uint<W>> &out0,
               hls::stream<ap_uint<W>> &out1) {
    for (int t = 0; t < WORDS; t++) {
#pragma HLS PIPELINE II=1
        const ap_uint<W> v = in.read();
        out0.write(v);
        out1.write(v);
    }
}

template <int W, int WORDS>
void duplicate(hls::stream<ap_uint<W>> &in, hls::stream<ap_uint<W>> &out0,
               hls::stream<ap_uint<W>> &out1, hls::stream<ap_uint<W>> &out2) {
    for (int t = 0; t < WORDS; t++) {
#pragma HLS PIPELINE II=1
        const ap_uint<W> v = in.read();
        out0.write(v);
        out1.write(v);
        out2.write(v);
    }
}

template <int W, int WORDS>
void duplicate(hls::stream<ap_uint<W>> &in, hls::stream<ap_uint<W>> &out0,
               hls::stream<ap_uint<W>> &out1, hls::stream<ap_uint<W>> &out2,
               hls::stream<ap_uint<W>> &out3) {
    for (int t = 0; t < WORDS; t++) {
#pragma HLS PIPELINE II=1
        const ap_uint<W> v = in.read();
        out0.write(v);
        out1.write(v);
        out2.write(v);
        out3.write(v);
    }
}

}  // namespace binhg

#endif

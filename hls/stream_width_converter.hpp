// Regroups a stream of BITS-bit elements from IN_ELEMS to OUT_ELEMS per word, order kept
// (inserted where a producer's word differs from its consumer's). Works in groups of
// lcm(IN_ELEMS, OUT_ELEMS) elements, which divide a pixel's channels as both counts do.
#ifndef BINHG_STREAM_WIDTH_CONVERTER_HPP
#define BINHG_STREAM_WIDTH_CONVERTER_HPP

#include "binhg.hpp"

namespace binhg {

template <int BITS, int IN_ELEMS, int OUT_ELEMS, int ELEMS_PER_FRAME>
void stream_width_converter(hls::stream<ap_uint<IN_ELEMS * BITS>> &in,
                            hls::stream<ap_uint<OUT_ELEMS * BITS>> &out) {
    constexpr int G = lcm(IN_ELEMS, OUT_ELEMS), R = G / IN_ELEMS, WR = G / OUT_ELEMS;
    static_assert(ELEMS_PER_FRAME % G == 0, "a frame must be whole groups");
    for (int g = 0; g < ELEMS_PER_FRAME / G; g++) {
        ap_uint<G * BITS> group;
        for (int r = 0; r < R; r++) {
#pragma HLS PIPELINE II=1
            group.range((r + 1) * IN_ELEMS * BITS - 1, r * IN_ELEMS * BITS) = in.read();
        }
        for (int w = 0; w < WR; w++) {
#pragma HLS PIPELINE II=1
            out.write(group.range((w + 1) * OUT_ELEMS * BITS - 1, w * OUT_ELEMS * BITS));
        }
    }
}

}  // namespace binhg

#endif

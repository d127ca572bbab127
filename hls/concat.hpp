// Channel concatenation, kind `concat`: per pixel, input 0's B0 words, then input 1's B1
// words, ... (all inputs have the same element type and PE). Two to four inputs.
#ifndef BINHG_CONCAT_HPP
#define BINHG_CONCAT_HPP

#include "binhg.hpp"

namespace binhg {

template <int W, int B>
void concat_copy(hls::stream<ap_uint<W>> &in, hls::stream<ap_uint<W>> &out) {
#pragma HLS INLINE
    for (int b = 0; b < B; b++) {
#pragma HLS PIPELINE II=1
        out.write(in.read());
    }
}

template <int W, int PIXELS, int B0, int B1>
void concat(hls::stream<ap_uint<W>> &in0, hls::stream<ap_uint<W>> &in1,
            hls::stream<ap_uint<W>> &out) {
    for (int px = 0; px < PIXELS; px++) {
        concat_copy<W, B0>(in0, out);
        concat_copy<W, B1>(in1, out);
    }
}

template <int W, int PIXELS, int B0, int B1, int B2>
void concat(hls::stream<ap_uint<W>> &in0, hls::stream<ap_uint<W>> &in1,
            hls::stream<ap_uint<W>> &in2, hls::stream<ap_uint<W>> &out) {
    for (int px = 0; px < PIXELS; px++) {
        concat_copy<W, B0>(in0, out);
        concat_copy<W, B1>(in1, out);
        concat_copy<W, B2>(in2, out);
    }
}

template <int W, int PIXELS, int B0, int B1, int B2, int B3>
void concat(hls::stream<ap_uint<W>> &in0, hls::stream<ap_uint<W>> &in1,
            hls::stream<ap_uint<W>> &in2, hls::stream<ap_uint<W>> &in3,
            hls::stream<ap_uint<W>> &out) {
    for (int px = 0; px < PIXELS; px++) {
        concat_copy<W, B0>(in0, out);
        concat_copy<W, B1>(in1, out);
        concat_copy<W, B2>(in2, out);
        concat_copy<W, B3>(in3, out);
    }
}

}  // namespace binhg

#endif

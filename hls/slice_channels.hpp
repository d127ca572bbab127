// Channel slice, kind `slice_channels`: per pixel keeps words [START, STOP) of IN_BEATS and
// drops the rest (the two halves of a U-Net merge).
#ifndef BINHG_SLICE_CHANNELS_HPP
#define BINHG_SLICE_CHANNELS_HPP

#include "binhg.hpp"

namespace binhg {

template <int W, int PIXELS, int IN_BEATS, int START, int STOP>
void slice_channels(hls::stream<ap_uint<W>> &in, hls::stream<ap_uint<W>> &out) {
    int b = 0;
    for (int t = 0; t < PIXELS * IN_BEATS; t++) {
#pragma HLS PIPELINE II=1
        const ap_uint<W> v = in.read();
        if (b >= START && b < STOP) out.write(v);
        b = (b == IN_BEATS - 1) ? 0 : b + 1;
    }
}

}  // namespace binhg

#endif

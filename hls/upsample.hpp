// Nearest-neighbour upsampling by FACTOR, kind `upsample`, PE channels per word: every input
// pixel is repeated FACTOR x FACTOR times. The first output row of an input row passes the
// input through and keeps it; the other FACTOR-1 replay it.
#ifndef BINHG_UPSAMPLE_HPP
#define BINHG_UPSAMPLE_HPP

#include "binhg.hpp"

namespace binhg {

template <int PE, int BITS, int C, int IN_H, int IN_W, int FACTOR>
void upsample(hls::stream<ap_uint<PE * BITS>> &in, hls::stream<ap_uint<PE * BITS>> &out) {
    constexpr int CG = C / PE;
    ap_uint<PE * BITS> row[IN_W * CG];
    for (int y = 0; y < IN_H; y++) {
        int fy = 0, x = 0, fx = 0, cg = 0;   // counters, not divisions, in the pipelined loop
        for (int t = 0; t < FACTOR * IN_W * FACTOR * CG; t++) {
#pragma HLS PIPELINE II=1
            ap_uint<PE * BITS> v;
            if (fy == 0 && fx == 0) {
                v = in.read();
                row[x * CG + cg] = v;
            } else {
                v = row[x * CG + cg];
            }
            out.write(v);
            if (++cg == CG) {
                cg = 0;
                if (++fx == FACTOR) {
                    fx = 0;
                    if (++x == IN_W) {
                        x = 0;
                        fy++;
                    }
                }
            }
        }
    }
}

}  // namespace binhg

#endif

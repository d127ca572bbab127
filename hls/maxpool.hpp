// Max-pooling K x K, stride K, kind `maxpool`, PE channels per word. One output row of running
// maxima: the first input of a window sets it, the last one (bottom right) emits it. Rows and
// columns beyond IN_H/K*K, IN_W/K*K are read and dropped.
#ifndef BINHG_MAXPOOL_HPP
#define BINHG_MAXPOOL_HPP

#include "binhg.hpp"

namespace binhg {

template <int PE, int BITS, bool SIGNED, int C, int IN_H, int IN_W, int K>
void maxpool(hls::stream<ap_uint<PE * BITS>> &in, hls::stream<ap_uint<PE * BITS>> &out) {
    constexpr int CG = C / PE, OH = IN_H / K, OW = IN_W / K;
    ap_uint<PE * BITS> row[OW * CG];
    int y = 0, x = 0, cg = 0;       // counters, not divisions, in the pipelined loop
    int wy = 0, wx = 0, ox = 0;     // position inside the window, output column
    for (int t = 0; t < IN_H * IN_W * CG; t++) {
#pragma HLS PIPELINE II=1
        const ap_uint<PE * BITS> v = in.read();
        if (y < OH * K && x < OW * K) {
            const int i = ox * CG + cg;
            const bool first = wy == 0 && wx == 0;
            ap_uint<PE * BITS> m = row[i];
            for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
                const ap_int<BITS + 1> a = get_elem<BITS, SIGNED>(v, p);
                if (first || a > get_elem<BITS, SIGNED>(m, p)) set_elem<BITS>(m, p, a);
            }
            if (wy == K - 1 && wx == K - 1) {
                out.write(m);
            } else {
                row[i] = m;
            }
        }
        if (++cg == CG) {
            cg = 0;
            if (++wx == K) {
                wx = 0;
                ox++;
            }
            if (++x == IN_W) {
                x = wx = ox = 0;
                if (++wy == K) wy = 0;
                y++;
            }
        }
    }
}

}  // namespace binhg

#endif

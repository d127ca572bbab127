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
    for (int t = 0; t < IN_H * IN_W * CG; t++) {
#pragma HLS PIPELINE II=1
        const int y = t / (IN_W * CG), x = t / CG % IN_W, cg = t % CG;
        const ap_uint<PE * BITS> v = in.read();
        if (y >= OH * K || x >= OW * K) continue;
        const int i = (x / K) * CG + cg;
        const bool first = (y % K == 0) && (x % K == 0);
        ap_uint<PE * BITS> m = row[i];
        for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
            const ap_int<BITS + 1> a = get_elem<BITS, SIGNED>(v, p);
            if (first || a > get_elem<BITS, SIGNED>(m, p)) set_elem<BITS>(m, p, a);
        }
        if ((y % K == K - 1) && (x % K == K - 1)) {
            out.write(m);
        } else {
            row[i] = m;
        }
    }
}

}  // namespace binhg

#endif

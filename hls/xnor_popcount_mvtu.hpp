// XNOR-popcount matrix-vector-threshold unit, kind `xnor_mvtu`: the binary convolution.
// Per pixel, P[o] = #{k : x[k] == w[o, k]} over the K-bit window (bit 1 = +1), i.e. the +-1
// dot product is 2P - K; then the output stage. PE output channels x SIMD input bits per
// cycle: group nf of a pixel gives channels nf*PE .. nf*PE+PE-1 in K/SIMD cycles. Group 0
// reads the input and keeps it; groups 1..NF-1 replay it.
#ifndef BINHG_XNOR_POPCOUNT_MVTU_HPP
#define BINHG_XNOR_POPCOUNT_MVTU_HPP

#include "binhg.hpp"

namespace binhg {

// weights[p][nf*SF + sf] bit i = w[nf*PE + p, sf*SIMD + i]
template <int PE, int SIMD, int K, int COUT, int PIXELS, int OUT_BITS, class Stage>
void xnor_popcount_mvtu(hls::stream<ap_uint<SIMD>> &in, hls::stream<ap_uint<PE * OUT_BITS>> &out,
                        const typename rom_word<SIMD>::type weights[PE][(COUT / PE) * (K / SIMD)],
                        const Stage &stage) {
#pragma HLS ARRAY_PARTITION variable=weights complete dim=1
    constexpr int SF = K / SIMD, NF = COUT / PE, ACC = bits_for(K) + 1;
    static_assert(K % SIMD == 0 && COUT % PE == 0, "PE/SIMD must divide COUT/K");
    ap_uint<SIMD> vec[SF];
    ap_int<ACC> acc[PE];
#pragma HLS ARRAY_PARTITION variable=acc complete
    int sf = 0, nf = 0;
    for (int t = 0; t < PIXELS * NF * SF; t++) {
#pragma HLS PIPELINE II=1
        ap_uint<SIMD> x;
        if (nf == 0) {
            x = in.read();
            vec[sf] = x;
        } else {
            x = vec[sf];
        }
        for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
            const ap_int<ACC> before = (sf == 0) ? ap_int<ACC>(0) : acc[p];
            acc[p] = before + popcount<SIMD>(~(x ^ ap_uint<SIMD>(weights[p][nf * SF + sf])));
        }
        if (sf == SF - 1) {
            ap_uint<PE * OUT_BITS> y;
            for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
                set_elem<OUT_BITS>(y, p, stage.apply(acc[p], p, nf));
            }
            out.write(y);
            sf = 0;
            nf = (nf == NF - 1) ? 0 : nf + 1;
        } else {
            sf++;
        }
    }
}

}  // namespace binhg

#endif

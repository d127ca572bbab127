// 8-bit matrix-vector(-threshold) unit, kind `int_mvtu`: the first and last layers.
// acc[o] = sum_k w[o, k] * x[k] exactly (int8 weights; input elements IN_BITS wide, signed
// when IN_SIGNED), then the output stage. Folding and order as xnor_popcount_mvtu.hpp.
#ifndef BINHG_INT_MVTU_HPP
#define BINHG_INT_MVTU_HPP

#include "binhg.hpp"

namespace binhg {

// weights[p][nf*SF + sf] element i (8 bits, two's complement) = w[nf*PE + p, sf*SIMD + i]
template <int PE, int SIMD, int K, int COUT, int PIXELS, int IN_BITS, bool IN_SIGNED,
          int ACC_BITS, int OUT_BITS, class Stage>
void int_mvtu(hls::stream<ap_uint<SIMD * IN_BITS>> &in,
              hls::stream<ap_uint<PE * OUT_BITS>> &out,
              const typename rom_word<SIMD * 8>::type weights[PE][(COUT / PE) * (K / SIMD)],
              const Stage &stage) {
#pragma HLS ARRAY_PARTITION variable=weights complete dim=1
    constexpr int SF = K / SIMD, NF = COUT / PE;
    static_assert(K % SIMD == 0 && COUT % PE == 0, "PE/SIMD must divide COUT/K");
    ap_uint<SIMD * IN_BITS> vec[SF];
    ap_int<ACC_BITS> acc[PE];
#pragma HLS ARRAY_PARTITION variable=acc complete
    int sf = 0, nf = 0;
    for (int t = 0; t < PIXELS * NF * SF; t++) {
#pragma HLS PIPELINE II=1
        ap_uint<SIMD * IN_BITS> x;
        if (nf == 0) {
            x = in.read();
            vec[sf] = x;
        } else {
            x = vec[sf];
        }
        for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
            const ap_uint<SIMD * 8> w = weights[p][nf * SF + sf];
            ap_int<ACC_BITS> dot = 0;
            for (int i = 0; i < SIMD; i++) {
#pragma HLS UNROLL
                dot += get_elem<8, true>(w, i) * get_elem<IN_BITS, IN_SIGNED>(x, i);
            }
            acc[p] = ((sf == 0) ? ap_int<ACC_BITS>(0) : acc[p]) + dot;
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

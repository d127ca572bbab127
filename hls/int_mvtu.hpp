// 8-bit matrix-vector(-threshold) unit, kind `int_mvtu`: the first and last layers.
// acc[o] = sum_k w[o, k] * x[k] exactly (int8 weights; input elements IN_BITS wide, signed
// when IN_SIGNED), then the output stage. Folding and schedule as the XNOR unit (mvtu.hpp).
#ifndef BINHG_INT_MVTU_HPP
#define BINHG_INT_MVTU_HPP

#include "binhg.hpp"
#include "mvtu.hpp"

namespace binhg {

// One lane's step: the exact dot product of SIMD inputs and int8 weights (partial sums stay
// within the accumulator's range: every product's range contains 0).
template <int SIMD, int IN_BITS, bool IN_SIGNED, int ACC_BITS>
struct Int8Dot {
    template <class Word>
    ap_int<ACC_BITS> operator()(const ap_uint<SIMD * IN_BITS> &x, const Word &word) const {
#pragma HLS INLINE
        const ap_uint<SIMD * 8> w = word;
        ap_int<ACC_BITS> dot = 0;
        for (int i = 0; i < SIMD; i++) {
#pragma HLS UNROLL
            dot += get_elem<8, true>(w, i) * get_elem<IN_BITS, IN_SIGNED>(x, i);
        }
        return dot;
    }
};

// weights[p][nf*SF + sf] element i (8 bits, two's complement) = w[nf*PE + p, sf*SIMD + i]
template <int PE, int SIMD, int K, int COUT, int PIXELS, int IN_BITS, bool IN_SIGNED,
          int ACC_BITS, int OUT_BITS, class Stage>
void int_mvtu(hls::stream<ap_uint<SIMD * IN_BITS>> &in,
              hls::stream<ap_uint<PE * OUT_BITS>> &out,
              const typename rom_word<SIMD * 8>::type weights[PE][(COUT / PE) * (K / SIMD)],
              const Stage &stage) {
    mvtu<PE, SIMD, K, COUT, PIXELS, SIMD * IN_BITS, ACC_BITS, OUT_BITS>(
        in, out, weights, Int8Dot<SIMD, IN_BITS, IN_SIGNED, ACC_BITS>(), stage);
}

}  // namespace binhg

#endif

// XNOR-popcount matrix-vector-threshold unit, kind `xnor_mvtu`: the binary convolution.
// Per pixel, P[o] = #{k : x[k] == w[o, k]} over the K-bit window (bit 1 = +1), i.e. the +-1
// dot product is 2P - K; then the output stage. PE output channels x SIMD input bits per
// cycle (mvtu.hpp has the schedule).
#ifndef BINHG_XNOR_POPCOUNT_MVTU_HPP
#define BINHG_XNOR_POPCOUNT_MVTU_HPP

#include "binhg.hpp"
#include "mvtu.hpp"

namespace binhg {

// One lane's step: matching bits of SIMD inputs and weights, an unrolled adder tree.
template <int SIMD>
struct XnorPopcount {
    template <class Word>
    ap_uint<bits_for(SIMD)> operator()(const ap_uint<SIMD> &x, const Word &w) const {
#pragma HLS INLINE
        return popcount<SIMD>(~(x ^ ap_uint<SIMD>(w)));
    }
};

// weights[p][nf*SF + sf] bit i = w[nf*PE + p, sf*SIMD + i]
template <int PE, int SIMD, int K, int COUT, int PIXELS, int OUT_BITS, class Stage>
void xnor_popcount_mvtu(hls::stream<ap_uint<SIMD>> &in, hls::stream<ap_uint<PE * OUT_BITS>> &out,
                        const typename rom_word<SIMD>::type weights[PE][(COUT / PE) * (K / SIMD)],
                        const Stage &stage) {
    mvtu<PE, SIMD, K, COUT, PIXELS, SIMD, bits_for(K) + 1, OUT_BITS>(
        in, out, weights, XnorPopcount<SIMD>(), stage);
}

}  // namespace binhg

#endif

// What the XNOR and the 8-bit matrix-vector units share (as mvtu_sequencer.sv in hw/): per
// pixel, COUT/PE output groups of K/SIMD steps, one PE x SIMD step per cycle; group 0 reads
// the input vector and keeps it, groups 1..NF-1 replay it; after the last step of a group the
// PE accumulators go through the output stage into one output word. `LaneOp` is what one lane
// adds per step: an XNOR-popcount or an int8 dot product.
#ifndef BINHG_MVTU_HPP
#define BINHG_MVTU_HPP

#include "binhg.hpp"

namespace binhg {

// weights[p][nf*SF + sf] holds w[nf*PE + p, sf*SIMD .. sf*SIMD + SIMD-1]
template <int PE, int SIMD, int K, int COUT, int PIXELS, int IN_W, int ACC, int OUT_BITS,
          class Word, class LaneOp, class Stage>
void mvtu(hls::stream<ap_uint<IN_W>> &in, hls::stream<ap_uint<PE * OUT_BITS>> &out,
          const Word weights[PE][(COUT / PE) * (K / SIMD)], const LaneOp &op,
          const Stage &stage) {
#pragma HLS INLINE
#pragma HLS ARRAY_PARTITION variable=weights complete dim=1
    constexpr int SF = K / SIMD, NF = COUT / PE;
    static_assert(K % SIMD == 0 && COUT % PE == 0, "PE/SIMD must divide COUT/K");
    ap_uint<IN_W> vec[SF];
    ap_int<ACC> acc[PE];
#pragma HLS ARRAY_PARTITION variable=acc complete
    int sf = 0, nf = 0;
    for (int t = 0; t < PIXELS * NF * SF; t++) {
#pragma HLS PIPELINE II=1
        ap_uint<IN_W> x;
        if (nf == 0) {
            x = in.read();
            vec[sf] = x;
        } else {
            x = vec[sf];
        }
        for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
            const ap_int<ACC> before = (sf == 0) ? ap_int<ACC>(0) : acc[p];
            acc[p] = before + op(x, weights[p][nf * SF + sf]);
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

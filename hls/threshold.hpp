// Multi-threshold unit, kind `threshold`: out[c] = base + #{l : s*x[c] >= T[c, l]} per element,
// PE channels per word (BatchNorm + sign of the residual stream is the one-level case).
#ifndef BINHG_THRESHOLD_HPP
#define BINHG_THRESHOLD_HPP

#include "binhg.hpp"
#include "output_stage.hpp"

namespace binhg {

template <int PE, int IN_BITS, bool IN_SIGNED, int C, int PIXELS, int OUT_BITS, class Stage>
void threshold(hls::stream<ap_uint<PE * IN_BITS>> &in, hls::stream<ap_uint<PE * OUT_BITS>> &out,
               const Stage &stage) {
    constexpr int NF = C / PE;
    int nf = 0;
    for (int t = 0; t < PIXELS * NF; t++) {
#pragma HLS PIPELINE II=1
        const ap_uint<PE * IN_BITS> x = in.read();
        ap_uint<PE * OUT_BITS> y;
        for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
            set_elem<OUT_BITS>(y, p, stage.apply(get_elem<IN_BITS, IN_SIGNED>(x, p), p, nf));
        }
        out.write(y);
        nf = (nf == NF - 1) ? 0 : nf + 1;
    }
}

}  // namespace binhg

#endif

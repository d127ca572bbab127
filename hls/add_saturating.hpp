// Saturating addition of two streams of the same scale, kind `add`: clip(a + b, OUT_MIN,
// OUT_MAX) per element, PE elements per word (the residual stream's skip join).
#ifndef BINHG_ADD_SATURATING_HPP
#define BINHG_ADD_SATURATING_HPP

#include "binhg.hpp"

namespace binhg {

template <int PE, int A_BITS, bool A_SIGNED, int B_BITS, bool B_SIGNED, int OUT_BITS,
          int OUT_MIN, int OUT_MAX, int WORDS>
void add_saturating(hls::stream<ap_uint<PE * A_BITS>> &a, hls::stream<ap_uint<PE * B_BITS>> &b,
                    hls::stream<ap_uint<PE * OUT_BITS>> &out) {
    for (int t = 0; t < WORDS; t++) {
#pragma HLS PIPELINE II=1
        const ap_uint<PE * A_BITS> x = a.read();
        const ap_uint<PE * B_BITS> z = b.read();
        ap_uint<PE * OUT_BITS> y;
        for (int p = 0; p < PE; p++) {
#pragma HLS UNROLL
            ap_int<(A_BITS > B_BITS ? A_BITS : B_BITS) + 2> s =
                get_elem<A_BITS, A_SIGNED>(x, p) + get_elem<B_BITS, B_SIGNED>(z, p);
            if (s < OUT_MIN) s = OUT_MIN;
            if (s > OUT_MAX) s = OUT_MAX;
            set_elem<OUT_BITS>(y, p, s);
        }
        out.write(y);
    }
}

}  // namespace binhg

#endif

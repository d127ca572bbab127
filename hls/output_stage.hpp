// What a matrix-vector unit (or the threshold layer) does with an accumulator `x` of output
// channel nf*PE + p (flow/layers/requant.py and thresholding.py hold the semantics):
//   PassThrough  x itself (the heatmap layer; the host applies scale and bias)
//   Thresholds   base + #{l : s*x >= T[c, l]}, s = -1 where flip[c]
//   Requant      clip(((mul[c, seg] * x + add[c, seg]) >> shift), out_min, out_max),
//                seg = x >= split[c]: a PReLU-shaped threshold function in 2 multipliers
// Each is an aggregate, so a generated parameter header initialises it with braces.
#ifndef BINHG_OUTPUT_STAGE_HPP
#define BINHG_OUTPUT_STAGE_HPP

#include "binhg.hpp"

namespace binhg {

struct PassThrough {
    template <int A>
    ap_int<A> apply(const ap_int<A> &x, int, int) const {
#pragma HLS INLINE
        return x;
    }
};

template <int PE, int NF, int LEVELS, int TB>
struct Thresholds {
    ap_int<TB> t[PE][NF][LEVELS];
    ap_uint<1> flip[PE][NF];
    int base;

    template <int A>
    ap_int<bits_for(LEVELS) + 32> apply(const ap_int<A> &x, int p, int nf) const {
#pragma HLS INLINE
        ap_int<A + 1> v = x;
        if (flip[p][nf]) v = -v;
        ap_uint<bits_for(LEVELS)> n = 0;
        for (int l = 0; l < LEVELS; l++) {
#pragma HLS UNROLL
            n += (v >= t[p][nf][l]) ? 1 : 0;
        }
        return n + base;
    }
};

template <int PE, int NF, int MB, int AB, int SB>
struct Requant {
    ap_int<MB> mul[PE][NF][2];
    ap_int<AB> add[PE][NF][2];
    ap_int<SB> split[PE][NF];
    int shift, out_min, out_max;

    template <int A>
    ap_int<33> apply(const ap_int<A> &x, int p, int nf) const {
#pragma HLS INLINE
        const int seg = (x >= split[p][nf]) ? 1 : 0;
        // full-precision product and sum (ap_int widens), then an arithmetic shift = floor
        ap_int<MB + A + AB + 1> y = mul[p][nf][seg] * x + add[p][nf][seg];
        y >>= shift;
        if (y < out_min) return out_min;
        if (y > out_max) return out_max;
        return ap_int<33>(y);
    }
};

}  // namespace binhg

#endif

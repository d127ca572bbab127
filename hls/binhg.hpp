// Shared types and helpers of the HLS layer library (hls/README.md has the stream format).
// Compiles under Vitis HLS and, for C simulation, under g++ with the ap_int/hls_stream headers
// that the hls4ml wheel ships (flow/measure/hls_csim.py finds them).
#ifndef BINHG_HPP
#define BINHG_HPP

// Words up to 4096 bits (the parallel sliding window gives a whole 7x7 window of the 3-channel
// 8-bit stem, 1176 bits, per beat); ap_int defaults to at most 1024.
#ifndef AP_INT_MAX_W
#define AP_INT_MAX_W 4096
#endif
#include <ap_int.h>
#include <hls_stream.h>

#include <cstdint>
#include <type_traits>

#ifndef __SYNTHESIS__
#include <cstdio>
#include <cstdlib>
#endif

namespace binhg {

// Bits of an unsigned number that holds 0..n.
constexpr int bits_for(int n) { return n < 2 ? 1 : 1 + bits_for(n / 2); }

constexpr int gcd(int a, int b) { return b == 0 ? a : gcd(b, a % b); }
constexpr int lcm(int a, int b) { return a / gcd(a, b) * b; }

// The element type of a weight ROM of W-bit words. Synthesis: ap_uint<W>, a ROM exactly W bits
// wide. C simulation: the same values in the smallest unsigned integer that holds W bits,
// because g++ initialises an array of ap_uint objects at run time, one constructor call per
// word (23 s and 1.3 GB for one 41,472-word layer); words wider than 64 bits stay ap_uint.
// BINHG_ROM_AS_AP_UINT selects the synthesis form in C simulation too (tests/test_hls.py).
#if defined(__SYNTHESIS__) || defined(BINHG_ROM_AS_AP_UINT)
template <int W>
struct rom_word { typedef ap_uint<W> type; };
#else
template <int W>
struct rom_word {
    typedef typename std::conditional<
        (W <= 8), uint8_t, typename std::conditional<
        (W <= 16), uint16_t, typename std::conditional<
        (W <= 32), uint32_t, typename std::conditional<
        (W <= 64), uint64_t, ap_uint<W>>::type>::type>::type>::type type;
};
#endif

// Element `i` of a packed word: bits [i*B, (i+1)*B), two's complement when S. Returned one bit
// wider so that signed and unsigned elements share one type.
template <int B, bool S, int W>
ap_int<B + 1> get_elem(const ap_uint<W> &word, int i) {
#pragma HLS INLINE
    ap_uint<B> u = word.range(i * B + B - 1, i * B);
    if (S) {
        ap_int<B> s = u;
        return s;
    }
    return u;
}

// Writes the low B bits of v into element `i` of `word`.
template <int B, int W, class V>
void set_elem(ap_uint<W> &word, int i, const V &v) {
#pragma HLS INLINE
    ap_uint<B> u = v;
    word.range(i * B + B - 1, i * B) = u;
}

// Number of ones in a word: an adder tree once unrolled.
template <int W>
ap_uint<bits_for(W)> popcount(const ap_uint<W> &x) {
#pragma HLS INLINE
    ap_uint<bits_for(W)> n = 0;
    for (int i = 0; i < W; i++) {
#pragma HLS UNROLL
        n += x[i];
    }
    return n;
}

#ifndef __SYNTHESIS__
// C simulation only: an internal stream that still holds words after a frame means a layer
// consumed less than its producer wrote (the hardware would stall). Names the stream.
template <class T>
void expect_drained(hls::stream<T> &s, const char *name) {
    if (!s.empty()) {
        std::fprintf(stderr, "ERROR: stream '%s' holds leftover words after the frame\n", name);
        std::exit(3);
    }
}
#endif

}  // namespace binhg

#endif

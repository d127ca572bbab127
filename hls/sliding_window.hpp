// Sliding-window generator (im2col on a stream), kind `sliding_window`: output pixel (oy, ox)
// is x[oy*S + ky - PT, ox*S + kx - PL, c] in (ky, kx, c) order, PAD_CODE outside the image.
// SIMD channels per word in and out. A circular buffer of K input rows: before output row oy
// the rows up to its last one are read, each overwriting the row K above it, so the K rows
// the window needs are the K most recent. Rows no window touches are read and dropped.
#ifndef BINHG_SLIDING_WINDOW_HPP
#define BINHG_SLIDING_WINDOW_HPP

#include "binhg.hpp"

namespace binhg {

template <int SIMD, int BITS, int C, int IN_H, int IN_W, int K, int S, int PT, int PL, int PB,
          int PR, int PAD_CODE>
void sliding_window(hls::stream<ap_uint<SIMD * BITS>> &in,
                    hls::stream<ap_uint<SIMD * BITS>> &out) {
    constexpr int CG = C / SIMD;                      // words per pixel
    constexpr int OH = (IN_H + PT + PB - K) / S + 1;
    constexpr int OW = (IN_W + PL + PR - K) / S + 1;
    typedef ap_uint<SIMD * BITS> word_t;
    static_assert(C % SIMD == 0, "SIMD must divide the channels");

    word_t rows[K][IN_W * CG];
    word_t pad = 0;
    for (int i = 0; i < SIMD; i++) {
#pragma HLS UNROLL
        set_elem<BITS>(pad, i, ap_int<BITS + 1>(PAD_CODE));
    }

    int rows_read = 0;
    for (int oy = 0; oy < OH; oy++) {
        int last = oy * S - PT + K - 1;               // the last input row this row needs
        if (last > IN_H - 1) last = IN_H - 1;
        // counters, not divisions, in the pipelined loops (a divider per index otherwise)
        int slot = rows_read % K, col = 0;
        for (int t = 0; t < (last + 1 - rows_read) * IN_W * CG; t++) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT max=K*IN_W*CG
            rows[slot][col] = in.read();
            if (++col == IN_W * CG) {
                col = 0;
                slot = (slot == K - 1) ? 0 : slot + 1;
            }
        }
        if (last + 1 > rows_read) rows_read = last + 1;
        int ox = 0, ky = 0, kx = 0, cg = 0;
        for (int t = 0; t < OW * K * K * CG; t++) {
#pragma HLS PIPELINE II=1
            const int y = oy * S + ky - PT, x = ox * S + kx - PL;
            const bool inside = y >= 0 && y < IN_H && x >= 0 && x < IN_W;
            out.write(inside ? rows[y % K][x * CG + cg] : pad);
            if (++cg == CG) {
                cg = 0;
                if (++kx == K) {
                    kx = 0;
                    if (++ky == K) {
                        ky = 0;
                        ox++;
                    }
                }
            }
        }
    }
    for (int t = rows_read * IN_W * CG; t < IN_H * IN_W * CG; t++) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT max=K*IN_W*CG
        in.read();
    }
}

}  // namespace binhg

#endif

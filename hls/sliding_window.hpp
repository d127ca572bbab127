// Sliding-window generator (im2col on a stream), kind `sliding_window`: output pixel (oy, ox)
// is x[oy*S + ky - PT, ox*S + kx - PL, c] in (ky, kx, c) order, PAD_CODE outside the image.
// SIMD channels per word in and out. A circular buffer of K input rows: before output row oy
// the rows up to its last one are read, each overwriting the row K above it, so the K rows
// the window needs are the K most recent. Rows no window touches are read and dropped.
// sliding_window_parallel below is the form with more than a pixel's channels per word.
#ifndef BINHG_SLIDING_WINDOW_HPP
#define BINHG_SLIDING_WINDOW_HPP

#include "binhg.hpp"

namespace binhg {

// A word of N elements of the pad code.
template <int N, int BITS, int PAD_CODE>
ap_uint<N * BITS> pad_word() {
    ap_uint<N * BITS> pad = 0;
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
        set_elem<BITS>(pad, i, ap_int<BITS + 1>(PAD_CODE));
    }
    return pad;
}

// The circular buffer of K rows of ROW words: read the input rows up to `last` (clamped to
// IN_H - 1), each over the row K above it; `rows_read` counts the frame's rows read so far.
template <int IN_H, int K, int ROW, class W>
void read_rows_until(hls::stream<W> &in, W rows[K][ROW], int &rows_read, int last) {
    if (last > IN_H - 1) last = IN_H - 1;
    // counters, not divisions, in the pipelined loop (a divider per index otherwise)
    int slot = rows_read % K, col = 0;
    for (int t = 0; t < (last + 1 - rows_read) * ROW; t++) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT max=K*ROW
        rows[slot][col] = in.read();
        if (++col == ROW) {
            col = 0;
            slot = (slot == K - 1) ? 0 : slot + 1;
        }
    }
    if (last + 1 > rows_read) rows_read = last + 1;
}

// Read and drop the rows of the frame no window touched.
template <int IN_H, int K, int ROW, class W>
void drain_rows(hls::stream<W> &in, int rows_read) {
    for (int t = rows_read * ROW; t < IN_H * ROW; t++) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT max=K*ROW
        in.read();
    }
}

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
    int rows_read = 0;
    const word_t pad = pad_word<SIMD, BITS, PAD_CODE>();
    for (int oy = 0; oy < OH; oy++) {
        // the rows up to the last one this output row needs
        read_rows_until<IN_H, K, IN_W * CG>(in, rows, rows_read, oy * S - PT + K - 1);
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
    drain_rows<IN_H, K, IN_W * CG>(in, rows_read);
}

// The parallel form (SIMD = C * PIXELS): one pixel in per word, PIXELS window pixels out per
// word in (ky, kx) order, K*K/PIXELS words per window. The same circular buffer of K rows,
// one pixel per entry, partitioned so that a word's pixels are read in one cycle.
template <int PIXELS, int BITS, int C, int IN_H, int IN_W, int K, int S, int PT, int PL,
          int PB, int PR, int PAD_CODE>
void sliding_window_parallel(hls::stream<ap_uint<C * BITS>> &in,
                             hls::stream<ap_uint<PIXELS * C * BITS>> &out) {
    constexpr int PW = C * BITS;
    constexpr int NB = K * K / PIXELS;                // words per window
    constexpr int OH = (IN_H + PT + PB - K) / S + 1;
    constexpr int OW = (IN_W + PL + PR - K) / S + 1;
    typedef ap_uint<PW> pixel_t;
    static_assert((K * K) % PIXELS == 0, "PIXELS must divide the window");

    pixel_t rows[K][IN_W];
#pragma HLS ARRAY_PARTITION variable=rows dim=1 complete
#pragma HLS ARRAY_PARTITION variable=rows dim=2 cyclic factor=K
    int rows_read = 0;
    const pixel_t pad = pad_word<C, BITS, PAD_CODE>();
    for (int oy = 0; oy < OH; oy++) {
        read_rows_until<IN_H, K, IN_W>(in, rows, rows_read, oy * S - PT + K - 1);
        for (int ox = 0; ox < OW; ox++) {
            for (int b = 0; b < NB; b++) {
#pragma HLS PIPELINE II=1
                ap_uint<PIXELS * PW> word = 0;
                for (int p = 0; p < PIXELS; p++) {
#pragma HLS UNROLL
                    const int i = b * PIXELS + p, ky = i / K, kx = i % K;
                    const int y = oy * S + ky - PT, x = ox * S + kx - PL;
                    const bool inside = y >= 0 && y < IN_H && x >= 0 && x < IN_W;
                    word(p * PW + PW - 1, p * PW) = inside ? rows[y % K][x] : pad;
                }
                out.write(word);
            }
        }
    }
    drain_rows<IN_H, K, IN_W>(in, rows_read);
}

}  // namespace binhg

#endif

// Sliding-window generator, parallel form (kind sliding_window folded with SIMD a multiple of
// the channels); semantics: flow/layers/sliding_window.py.
//
// Output pixel (oy, ox) is x[oy*STRIDE+ky-PAD_T, ox*STRIDE+kx-PAD_L, c] in (ky, kx, c) order,
// PAD_CODE outside the image, as sliding_window.sv; but this form reads a whole pixel
// (CHANNELS elements) per input beat and writes PIXELS window pixels (PIXELS*CHANNELS
// elements) per output beat, up to the whole window in one beat, where sliding_window.sv
// writes at most one pixel per beat: what a layer needs that takes a window faster than its
// pixels' channels (the stem: 3 channels, a 7x7 window).
//
// Structure (the classic line-buffer form): the padded image is walked in raster order, one
// pixel per cycle, an input beat where the pixel is in the image and PAD_CODE where it is not.
// K-1 line buffers (one simple dual-port memory of IN_W+PAD_L+PAD_R pixels each) hold the K-1
// rows above; each step shifts the column under the current pixel into a K x K window
// register. Where a window is complete (its bottom-right pixel just arrived, on the stride's
// grid), it is copied into a hold register and sent as K*K/PIXELS beats through a skid
// buffer; the walk stalls only while a complete window waits for the hold register. The line
// buffers' next column is read one step ahead, so the walk takes one pixel per cycle.
//
// Every output pixel needs the input up to the last image pixel before its window's
// bottom-right one in raster order (flow/layers/sliding_window.py, pixel_dependencies).
// Cycles per frame: the padded pixels, plus (K*K/PIXELS - STRIDE) stall cycles per window
// after the first of a row where a window's beats outlast STRIDE steps.
module sliding_window_parallel #(
    parameter int BITS     = 1,
    parameter int CHANNELS = 1,
    parameter int IN_H     = 8,
    parameter int IN_W     = 8,
    parameter int K        = 3,
    parameter int STRIDE   = 1,
    parameter int PAD_T    = 1,     // every pad < K
    parameter int PAD_L    = 1,
    parameter int PAD_B    = 1,
    parameter int PAD_R    = 1,
    parameter int PAD_CODE = 0,
    parameter int PIXELS   = 9      // window pixels per output beat, divides K*K
) (
    input  logic                          clk,
    input  logic                          rst_n,
    input  logic [CHANNELS*BITS-1:0]      s_axis_tdata,
    input  logic                          s_axis_tvalid,
    output logic                          s_axis_tready,
    output logic [PIXELS*CHANNELS*BITS-1:0] m_axis_tdata,
    output logic                          m_axis_tvalid,
    input  logic                          m_axis_tready
);
    localparam int PW   = CHANNELS * BITS;             // one pixel
    localparam int HP   = IN_H + PAD_T + PAD_B;         // padded image
    localparam int WP   = IN_W + PAD_L + PAD_R;
    localparam int NB   = K * K / PIXELS;               // output beats per window
    localparam int OUTW = PIXELS * PW;
    localparam int NLB  = (K > 1) ? K - 1 : 1;          // line buffers (none when K == 1)
    localparam int YW   = $clog2(HP + 1);
    localparam int XW   = $clog2(WP + 1);
    localparam int AW   = (WP > 1) ? $clog2(WP) : 1;  // a line buffer's address: x < WP
    localparam int SW   = (STRIDE > 1) ? $clog2(STRIDE) : 1;

    localparam logic [BITS-1:0] PAD_ELEM = BITS'(PAD_CODE);
    localparam logic [PW-1:0]   PAD_PIX  = {CHANNELS{PAD_ELEM}};

    // ---------------------------------------------------------------- walk state
    logic [YW-1:0] y;                   // padded row, column of the pixel taken next
    logic [XW-1:0] x;
    logic [SW-1:0] py, px;              // (y - K + 1) mod STRIDE, (x - K + 1) mod STRIDE
    logic          col_valid;           // col_q holds the line buffers' column x

    // Flat vectors, pixel i at [i*PW +: PW]
    logic [NLB*PW-1:0]        col_q;    // pixel r: (y - 1 - r, x)
    logic [K*K*PW-1:0]        win, win_next;    // pixel ky*K + kx of the window
    logic [K*PW-1:0]          column;   // the column shifted in: rows y-K+1 .. y

    // ---------------------------------------------------------------- hold and output
    logic [K*K*PW-1:0]        hold;
    logic                     hold_valid;
    logic [NB-1:0]            beat;             // one-hot: the hold's beat sent next
    logic [OUTW-1:0]          beat_data;
    logic                     out_ready;        // the skid buffer's registered tready

    logic hold_free, go, load, rd_en;
    logic [XW-1:0] x_next, rd_addr;
    logic [YW-1:0] y_next;
    logic [SW-1:0] px_next, py_next;
    logic [PW-1:0] pixel;

    // What a cycle decides (take a pixel, emit a window) reads registered flags of the
    // position (x, y), computed when the walk steps onto it: no subtraction or compare of
    // the counters lies in front of `go`, which enables some 2,400 registers on the stem.
    // A column is in the image, or a window's right column on the stride's grid; a row
    // likewise.
    function automatic x_inside(input [XW-1:0] xv);     // x - PAD_L wraps past IN_W left
        x_inside = XW'(xv - XW'(PAD_L)) < XW'(IN_W);
    endfunction
    function automatic y_inside(input [YW-1:0] yv);     // 2**YW > PAD_T + IN_H
        y_inside = YW'(yv - YW'(PAD_T)) < YW'(IN_H);
    endfunction
    function automatic x_window(input [XW-1:0] xv, input [SW-1:0] pxv);
        x_window = xv >= XW'(K - 1) && pxv == '0;
    endfunction
    function automatic y_window(input [YW-1:0] yv, input [SW-1:0] pyv);
        y_window = yv >= YW'(K - 1) && pyv == '0;
    endfunction
    logic y_in, y_win, last_x;          // row flags; the row's last column
    // The position's flags: the pixel at (x, y) is in the image, a window ends at (x, y).
    logic pix_in, win_end;
    logic pad_pix;                      // !pix_in, for the pixel's PW multiplexers alone
    // The hold is empty or sending its last beat (!hold_valid || beat[NB-1]): a register of
    // its own for `go`, as beat[NB-1] fans out to the beat select's OUTW AND gates. (Not
    // beat[NB-1] itself, which synthesis would merge it with.)
    logic free_or_last;

    always_comb begin
        x_next   = last_x ? '0 : x + 1'b1;
        px_next  = (x_next <= XW'(K - 1) || px == SW'(STRIDE - 1)) ? '0 : px + 1'b1;
        y_next   = (y == YW'(HP - 1)) ? '0 : y + 1'b1;
        py_next  = (y + 1'b1 <= YW'(K - 1) || y == YW'(HP - 1) || py == SW'(STRIDE - 1))
                   ? '0 : py + 1'b1;
        hold_free = free_or_last && (!hold_valid || out_ready);
        // The beat, selected by the one-hot register in an AND-OR: two LUT levels. (An index
        // hold[beat * OUTW +: OUTW] was a 9-level shifter, 8.3 ns on the stem's 7 beats of
        // 168 bits on an UltraScale+ -2, flow/measure/timing.py; shifting the hold instead
        // put the skid's ready on the enable of all its 1,176 bits.)
        beat_data = '0;
        for (int b = 0; b < NB; b++)
            beat_data = beat_data | (hold[b*OUTW +: OUTW] & {OUTW{beat[b]}});
        // go, load (= go && win_end) and rd_en (= go || !col_valid) are each written out from
        // registers and s_axis_tvalid, none from another: go and load enable some 1,200
        // registers each on the stem, and one fan-out's routing behind another's would add up.
        // (No rst_n: col_valid is low in reset, and the state go moves is reset anyway.)
        go   = (col_valid || K == 1) && (!pix_in || s_axis_tvalid) && (!win_end || hold_free);
        load = (col_valid || K == 1) && (!pix_in || s_axis_tvalid) && win_end && hold_free;
        pixel = pad_pix ? PAD_PIX : s_axis_tdata;
        // the column under the pixel: the line buffers' rows above it, then the pixel
        for (int ky = 0; ky < K; ky++)
            column[ky*PW +: PW] = (ky == K - 1) ? pixel : col_q[(K - 2 - ky)*PW +: PW];
        for (int i = 0; i < K * K; i++)
            win_next[i*PW +: PW] = (i % K == K - 1) ? column[(i / K)*PW +: PW]
                                                     : win[(i + 1)*PW +: PW];
        // read the next column one step ahead (and column 0 after reset); without a step
        // the read register keeps the current column, so the address need not wait for go
        rd_en   = !col_valid || ((!pix_in || s_axis_tvalid) && (!win_end || hold_free));
        rd_addr = col_valid ? x_next : x;
    end

    assign s_axis_tready = rst_n && (col_valid || K == 1) && pix_in && (!win_end || hold_free);

    // ---------------------------------------------------------------- line buffers
    generate
        for (genvar r = 0; r < K - 1; r++) begin : g_line
            logic [PW-1:0] mem [0:WP-1];
            logic [PW-1:0] q;
            always_ff @(posedge clk) begin
                // row y's pixel goes into buffer 0, each buffer's row one buffer down
                if (go) mem[x[AW-1:0]] <= (r == 0) ? pixel
                                                   : col_q[((r > 0) ? r - 1 : 0)*PW +: PW];
                if (rd_en) q <= mem[rd_addr[AW-1:0]];
            end
            assign col_q[r*PW +: PW] = q;
        end
        if (K == 1) begin : g_no_line
            assign col_q = '0;
        end
    endgenerate

    // ---------------------------------------------------------------- walk
    always_ff @(posedge clk) begin
        if (!rst_n) begin
            y <= '0; x <= '0; py <= '0; px <= '0;
            last_x <= WP == 1;
            y_in  <= y_inside('0);
            y_win <= y_window('0, '0);
            pix_in  <= x_inside('0) && y_inside('0);
            pad_pix <= !(x_inside('0) && y_inside('0));
            win_end <= x_window('0, '0) && y_window('0, '0);
            col_valid <= 1'b0;
        end else begin
            col_valid <= 1'b1;          // a read is issued every cycle the column is missing
            if (go) begin
                x      <= x_next;
                px     <= px_next;
                last_x <= x_next == XW'(WP - 1);
                if (last_x) begin
                    y     <= y_next;
                    py    <= py_next;
                    y_in  <= y_inside(y_next);
                    y_win <= y_window(y_next, py_next);
                end
                pix_in  <= x_inside(x_next) && (last_x ? y_inside(y_next) : y_in);
                pad_pix <= !(x_inside(x_next) && (last_x ? y_inside(y_next) : y_in));
                win_end <= x_window(x_next, px_next)
                           && (last_x ? y_window(y_next, py_next) : y_win);
            end
        end
    end

    // Window and hold registers need no reset: they are only read once filled this frame.
    always_ff @(posedge clk) begin
        if (go) win <= win_next;
        if (load) hold <= win_next;
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            hold_valid <= 1'b0;
            beat <= NB'(1);
            free_or_last <= 1'b1;
        end else if (load) begin
            hold_valid <= 1'b1;
            beat <= NB'(1);
            free_or_last <= NB == 1;
        end else if (hold_valid && out_ready) begin
            hold_valid <= !beat[NB-1];
            beat <= NB > 1 ? NB'({beat, beat[NB-1]}) : beat;
            free_or_last <= beat[NB-1] || beat[(NB > 1) ? NB - 2 : 0];
        end
    end

    axis_register_slice #(.WIDTH(OUTW)) u_out (
        .clk          (clk),
        .rst_n        (rst_n),
        .s_axis_tdata (beat_data),
        .s_axis_tvalid(hold_valid),
        .s_axis_tready(out_ready),
        .m_axis_tdata (m_axis_tdata),
        .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready)
    );
endmodule

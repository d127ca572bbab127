// Sliding-window generator (im2col on a stream); semantics: flow/layers/sliding_window.py.
//
// Output pixel (oy, ox) is x[oy*STRIDE+ky-PAD_T, ox*STRIDE+kx-PAD_L, c] in (ky, kx, c) order,
// PAD_CODE outside the image, SIMD elements per beat in and out.
//
// Structure: a circular line buffer of R = K + STRIDE input rows (one simple dual-port,
// synchronous-read memory). The writer stores input beats in arrival order; the reader walks
// (oy, ox, ky, kx, channel beat) and issues one memory read per output beat. R rows let the
// writer fill the next STRIDE rows while the reader still uses the current K, so in steady
// state the reader issues one beat per cycle, also across frame boundaries (the writer may
// run into the next frame). Both sides only compare row numbers relative to the reader's
// frame, so every counter is bounded.
//
// A frame's output starts only after the frame's first input beat (no padding beats of a
// frame that never comes). Latency: 3 cycles from an input beat to an output beat that uses
// it (read issue, memory read, output queue); m_tvalid comes from a register.
module sliding_window #(
    parameter int SIMD     = 1,
    parameter int BITS     = 1,
    parameter int CHANNELS = 1,
    parameter int IN_H     = 8,
    parameter int IN_W     = 8,
    parameter int K        = 3,
    parameter int STRIDE   = 1,
    parameter int PAD_T    = 1,
    parameter int PAD_L    = 1,
    parameter int PAD_B    = 1,
    parameter int PAD_R    = 1,
    parameter int PAD_CODE = 0
) (
    input  logic                 clk,
    input  logic                 rst_n,
    input  logic [SIMD*BITS-1:0] s_axis_tdata,
    input  logic                 s_axis_tvalid,
    output logic                 s_axis_tready,
    output logic [SIMD*BITS-1:0] m_axis_tdata,
    output logic                 m_axis_tvalid,
    input  logic                 m_axis_tready
);
    localparam int W    = SIMD * BITS;
    localparam int CB   = CHANNELS / SIMD;            // beats per pixel
    localparam int OH   = (IN_H + PAD_T + PAD_B - K) / STRIDE + 1;
    localparam int OW   = (IN_W + PAD_L + PAD_R - K) / STRIDE + 1;
    localparam int R    = K + STRIDE;                 // rows in the line buffer
    localparam int ROWB = IN_W * CB;                  // beats per input row
    localparam int DEPTH = R * ROWB;
    localparam int AW   = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    localparam int AW1  = AW + 1;

    // Signed widths: rows span [-IN_H - PAD_T, 2*IN_H + R] relative to the reader's frame,
    // beat columns span [-PAD_L*CB, (IN_W + PAD_R + STRIDE)*CB].
    localparam int YW  = $clog2(2 * IN_H + PAD_T + PAD_B + R + 1) + 2;
    localparam int XW  = $clog2((IN_W + PAD_L + PAD_R + K + STRIDE) * CB + 1) + 2;
    localparam int CBW = (CB > 1) ? $clog2(CB) : 1;
    localparam int KW  = (K > 1) ? $clog2(K) : 1;
    localparam int OHW = (OH > 1) ? $clog2(OH) : 1;
    localparam int OWW = (OW > 1) ? $clog2(OW) : 1;
    localparam int RBW = (ROWB > 1) ? $clog2(ROWB) : 1;

    // Memory offsets (in words) of whole rows, reduced modulo the buffer.
    localparam int ROW_OFF    = ROWB;                                   // next ky
    localparam int STRIDE_OFF = STRIDE * ROWB;                          // next oy
    localparam int FRAME_ROWS = IN_H - (OH - 1) * STRIDE;               // last oy -> next frame
    localparam int FRAME_OFF  = (((FRAME_ROWS % R) + R) % R) * ROWB;
    // Input row 0 of the first frame is written at address 0, so row -PAD_T sits this far on.
    localparam int BASE0      = (((-PAD_T % R) + R) % R) * ROWB;

    localparam logic [BITS-1:0] PAD_ELEM = BITS'(PAD_CODE);
    localparam logic [W-1:0]    PAD_VEC  = {SIMD{PAD_ELEM}};

    localparam logic signed [YW-1:0] ROW_TOP0  = YW'(-PAD_T);
    localparam logic signed [XW-1:0] COL_LEFT0 = XW'(-PAD_L * CB);

    function automatic logic [AW-1:0] addr_add(input logic [AW-1:0] a, input logic [AW-1:0] inc);
        // a, inc < DEPTH, so one conditional subtract wraps the sum.
        logic [AW:0] s;
        s = {1'b0, a} + {1'b0, inc};
        if (s >= AW1'(DEPTH)) s = s - AW1'(DEPTH);
        addr_add = s[AW-1:0];
    endfunction

    // ---------------------------------------------------------------- line buffer memory
    logic [W-1:0]  mem [0:DEPTH-1];
    logic [W-1:0]  mem_q;
    logic          wr_en, rd_en;
    logic [AW-1:0] wr_addr, rd_addr;

    always_ff @(posedge clk) begin
        if (wr_en) mem[wr_addr] <= s_axis_tdata;
        if (rd_en) mem_q <= mem[rd_addr];
    end

    // ---------------------------------------------------------------- reader state
    logic [CBW-1:0]        r_cb;
    logic [KW-1:0]         r_kx, r_ky;
    logic [OWW-1:0]        r_ox;
    logic [OHW-1:0]        r_oy;
    logic signed [YW-1:0]  r_top;        // input row of the window's top: oy*STRIDE - PAD_T
    logic signed [YW-1:0]  r_y;          // input row being read: r_top + ky
    logic signed [XW-1:0]  r_left;       // beat column of the window's left: (ox*STRIDE - PAD_L)*CB
    logic signed [XW-1:0]  r_x;          // beat column of pixel kx: r_left + kx*CB
    logic [AW-1:0]         r_top_addr;   // memory address of row r_top, column 0
    logic [AW-1:0]         r_row_addr;   // memory address of row r_y, column 0

    // ---------------------------------------------------------------- writer state
    logic [RBW-1:0]        w_col;        // next beat within the row
    logic signed [YW-1:0]  w_row;        // row being written, numbered in the reader's frame

    // ---------------------------------------------------------------- output queue
    // Three entries: with one read in flight the reader may issue whenever the queue has
    // room for it and the in-flight read, which sustains one beat per cycle without looking
    // at tready.
    logic [1:0] oq_free;                // free entries of the 3-entry queue
    logic       rd_pending, rd_pad;     // read issued last cycle, and whether it was padding

    // ---------------------------------------------------------------- reader control
    logic signed [XW-1:0] r_beat;
    logic pad, ready_data, frame_started, issue;
    logic last_cb, last_kx, last_ky, last_ox, last_oy, frame_done;

    always_comb begin
        r_beat = r_x + XW'(r_cb);
        pad = (r_y < 0) || (r_y >= YW'(IN_H)) || (r_x < 0) || (r_x >= XW'(ROWB));
        // Data beat present: its row is complete, or it is the current row and written.
        ready_data = (w_row > r_y) || (w_row == r_y && $signed(XW'(w_col)) > r_beat);
        // A frame starts only after its first input beat, even where it begins with padding,
        // so no output of a frame that never comes is sent.
        frame_started = (w_row > 0) || (w_row == 0 && w_col != '0);
        issue = rst_n && frame_started && (pad || ready_data) && oq_free > 2'(rd_pending);
        rd_en = issue && !pad;
        rd_addr = r_row_addr + AW'(r_beat[XW-1:0]);   // never wraps: rows start at k*ROWB

        last_cb = r_cb == CBW'(CB - 1);
        last_kx = r_kx == KW'(K - 1);
        last_ky = r_ky == KW'(K - 1);
        last_ox = r_ox == OWW'(OW - 1);
        last_oy = r_oy == OHW'(OH - 1);
        frame_done = issue && last_cb && last_kx && last_ky && last_ox && last_oy;
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            r_cb <= '0; r_kx <= '0; r_ky <= '0; r_ox <= '0; r_oy <= '0;
            r_top <= ROW_TOP0; r_y <= ROW_TOP0;
            r_left <= COL_LEFT0; r_x <= COL_LEFT0;
            r_top_addr <= AW'(BASE0); r_row_addr <= AW'(BASE0);
        end else if (issue) begin
            r_cb <= last_cb ? '0 : r_cb + 1'b1;
            if (last_cb) begin
                r_kx <= last_kx ? '0 : r_kx + 1'b1;
                r_x  <= r_x + XW'(CB);
                if (last_kx) begin
                    r_ky <= last_ky ? '0 : r_ky + 1'b1;
                    r_x  <= r_left;
                    r_y  <= r_y + 1'b1;
                    r_row_addr <= addr_add(r_row_addr, AW'(ROW_OFF));
                    if (last_ky) begin
                        // next window: same rows, STRIDE pixels to the right
                        r_ox <= last_ox ? '0 : r_ox + 1'b1;
                        r_left <= r_left + XW'(STRIDE * CB);
                        r_x  <= r_left + XW'(STRIDE * CB);
                        r_y  <= r_top;
                        r_row_addr <= r_top_addr;
                        if (last_ox) begin
                            // next output row: STRIDE rows down, back to the left edge
                            r_oy <= last_oy ? '0 : r_oy + 1'b1;
                            r_left <= COL_LEFT0;
                            r_x  <= COL_LEFT0;
                            r_top <= last_oy ? ROW_TOP0 : r_top + YW'(STRIDE);
                            r_y   <= last_oy ? ROW_TOP0 : r_top + YW'(STRIDE);
                            r_top_addr <= addr_add(r_top_addr, AW'(last_oy ? FRAME_OFF : STRIDE_OFF));
                            r_row_addr <= addr_add(r_top_addr, AW'(last_oy ? FRAME_OFF : STRIDE_OFF));
                        end
                    end
                end
            end
        end
    end

    // ---------------------------------------------------------------- writer control
    // A row may be written once the reader no longer needs the row R above it (the reader
    // never goes back above r_top). The writer stays within one frame of the reader: it may
    // not start the last row of the frame after the reader's.
    assign s_axis_tready = rst_n && (w_row < r_top + YW'(R)) && (w_row < YW'(2 * IN_H - 1));
    assign wr_en = s_axis_tvalid && s_axis_tready;

    logic w_row_done;
    assign w_row_done = wr_en && w_col == RBW'(ROWB - 1);

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            w_col <= '0; wr_addr <= '0; w_row <= '0;
        end else begin
            if (wr_en) begin
                w_col   <= w_row_done ? '0 : w_col + 1'b1;
                wr_addr <= addr_add(wr_addr, AW'(1));    // rows are stored back to back
            end
            // Renumber when the reader moves to its next frame.
            w_row <= w_row + YW'(w_row_done) - (frame_done ? YW'(IN_H) : '0);
        end
    end

    // ---------------------------------------------------------------- output queue
    always_ff @(posedge clk) begin
        if (!rst_n) begin
            rd_pending <= 1'b0;
            rd_pad <= 1'b0;
        end else begin
            rd_pending <= issue;
            rd_pad <= pad;
        end
    end

    axis_output_queue #(.WIDTH(W)) u_oq (
        .clk          (clk),
        .rst_n        (rst_n),
        .push         (rd_pending),
        .push_data    (rd_pad ? PAD_VEC : mem_q),
        .free         (oq_free),
        .m_axis_tdata (m_axis_tdata),
        .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready)
    );
endmodule

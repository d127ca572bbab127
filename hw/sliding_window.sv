// Sliding-window generator (im2col on a stream); semantics: flow/layers/sliding_window.py.
//
// Output pixel (oy, ox) is x[oy*STRIDE+ky-PAD_T, ox*STRIDE+kx-PAD_L, c] in (ky, kx, c) order,
// PAD_CODE outside the image, SIMD elements per beat in and out.
//
// Structure: a circular line buffer of R = K + STRIDE input rows (one simple dual-port,
// synchronous-read memory; rows back to back, or each at a power-of-two ROW_PITCH). The
// writer stores input beats in arrival order; the reader walks (oy, ox, ky, kx, channel
// beat) and issues one memory read per output beat. R rows let the writer fill the next
// STRIDE rows while the reader still uses the current K, so in steady
// state the reader issues one beat per cycle, also across frame boundaries (the writer may
// run into the next frame, to its last row: under a window of more rows than the image, a 5x5
// on 2 rows, the reader needs the whole next frame before its first window, and a writer
// held a row short made the window's producer wait for the reader). Rows are numbered
// relative to the reader's frame, so every counter is bounded.
//
// Timing: the decisions of a cycle (issue a read, take an input beat) read registers only.
// What they compare, the reader's position against the writer's, is kept as differences
// that are updated by a constant per kind of step (next beat, next kernel row, next window,
// next output row, next frame) and tested by their sign bit; the padding flag and the read
// address are registers computed one cycle ahead. So no comparator or adder lies between
// the reader's counters and the decisions, and the cycle-by-cycle behaviour is that of
// comparing the positions directly.
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
    parameter int PAD_CODE = 0,
    // Words per buffer row: 0 stores the rows back to back (ROWB words each); a power of two
    // >= ROWB (the generator's choice where the memory takes no more block RAM and few more
    // LUTs: flow/layers/sliding_window.line_buffer_pitch) addresses a word as {row slot,
    // beat column}, so the column needs no wrap and the writer no address counter of its own.
    parameter int ROW_PITCH = 0
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
    localparam bit SPLIT = ROW_PITCH != 0;           // {row slot, beat column} addresses
    localparam int PITCH = SPLIT ? ROW_PITCH : ROWB;
    localparam int DEPTH = R * PITCH;
    localparam int AW   = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    localparam int SW   = $clog2(R);                  // row slot bits (R >= 2)
    localparam int CW   = SPLIT ? $clog2(PITCH) : 1;  // beat column bits of a split address

    localparam int CBW = (CB > 1) ? $clog2(CB) : 1;
    localparam int KW  = (K > 1) ? $clog2(K) : 1;
    localparam int OHW = (OH > 1) ? $clog2(OH) : 1;
    localparam int OWW = (OW > 1) ? $clog2(OW) : 1;
    localparam int RBW = (ROWB > 1) ? $clog2(ROWB) : 1;
    // Signed widths: writer rows span [-IN_H - PAD_T, 2*IN_H + R] relative to the reader's
    // frame; DW holds a difference of two beat positions (row * ROWB + beat column) there.
    localparam int YW  = $clog2(2 * IN_H + PAD_T + PAD_B + R + 1) + 2;
    // The writer is at most R rows below the window's top, the reader at most a window and
    // the padding rows past the last beat it read; DW holds that with a margin.
    localparam int DW  = $clog2((2 * R + PAD_T + PAD_B + 2) * ROWB
                                + (IN_W + PAD_L + PAD_R + K + STRIDE) * CB + 1) + 1;

    // What one reader step moves, by kind: the beat position (row * ROWB + beat column, the
    // next frame's rows renumbered to the current one's), the window's top row, and the
    // padded pixel. A window's last beat is at row +K-1, column +K*CB-1 from its first.
    localparam int LAST_COL = K * CB - 1;
    localparam int STEP_KY = ROWB - LAST_COL;                                  // next ky
    localparam int STEP_OX = -(K - 1) * ROWB + STRIDE * CB - LAST_COL;         // next window
    localparam int STEP_OY = (STRIDE - K + 1) * ROWB - (OW - 1) * STRIDE * CB - LAST_COL;
    localparam int STEP_FR = (IN_H - (OH - 1) * STRIDE - K + 1) * ROWB
                             - (OW - 1) * STRIDE * CB - LAST_COL;              // next frame
    localparam int TOP_FR  = IN_H - (OH - 1) * STRIDE;      // window top, last oy -> next frame
    // Input row 0 of the first frame is at address 0; the reader starts at row -PAD_T,
    // beat column -PAD_L*CB: the same offset modulo the buffer (read only where not padding).
    localparam int START   = PAD_T * ROWB + PAD_L * CB;
    localparam int ADDR0   = ((DEPTH - START % DEPTH) % DEPTH);

    localparam logic [BITS-1:0] PAD_ELEM = BITS'(PAD_CODE);
    localparam logic [W-1:0]    PAD_VEC  = {SIMD{PAD_ELEM}};

    // the same steps of the read address, modulo the buffer (in [0, DEPTH))
    localparam logic [AW-1:0] A_BEAT = AW'(1 % DEPTH);
    localparam logic [AW-1:0] A_KY   = AW'(((STEP_KY % DEPTH) + DEPTH) % DEPTH);
    localparam logic [AW-1:0] A_OX   = AW'(((STEP_OX % DEPTH) + DEPTH) % DEPTH);
    localparam logic [AW-1:0] A_OY   = AW'(((STEP_OY % DEPTH) + DEPTH) % DEPTH);
    localparam logic [AW-1:0] A_FR   = AW'(((STEP_FR % DEPTH) + DEPTH) % DEPTH);
    localparam logic signed [AW+1:0] WRAP = (AW + 2)'(DEPTH);
    // split addresses: the steps' rows modulo R and columns modulo PITCH
    localparam int LAST_OX = -(OW - 1) * STRIDE * CB - LAST_COL;     // column, next row of windows
    function automatic logic [SW+CW-1:0] split_step(input int rows, input int cols);
        split_step = {SW'(((rows % R) + R) % R), CW'(((cols % PITCH) + PITCH) % PITCH)};
    endfunction
    localparam logic [SW+CW-1:0] SA_BEAT = split_step(0, 1);
    localparam logic [SW+CW-1:0] SA_KY = split_step(1, -LAST_COL);
    localparam logic [SW+CW-1:0] SA_OX = split_step(-(K - 1), STRIDE * CB - LAST_COL);
    localparam logic [SW+CW-1:0] SA_OY = split_step(STRIDE - K + 1, LAST_OX);
    localparam logic [SW+CW-1:0] SA_FR = split_step(IN_H - (OH - 1) * STRIDE - K + 1, LAST_OX);
    localparam logic [AW-1:0] ADDR_START =                 // the reader's first beat
        SPLIT ? AW'(split_step(-PAD_T, -PAD_L * CB)) : AW'(ADDR0);

    // Which of a window's K columns (bit kx) are padding, for window column ox + next, and
    // which of its K rows (bit ky) for window row oy + next: the padded pixel is
    // ox*STRIDE + kx (oy*STRIDE + ky). (Compares of the counter with constants, no increment
    // before them; as 32-bit signed: with no padding on a side the compare is constant,
    // without a lint warning.)
    function automatic logic [K-1:0] col_pad(input logic [OWW-1:0] ox, input int next);
        for (int kx = 0; kx < K; kx++)
            col_pad[kx] = $signed(32'(ox)) * STRIDE < PAD_L - kx - next * STRIDE ||
                          $signed(32'(ox)) * STRIDE >= IN_W + PAD_L - kx - next * STRIDE;
    endfunction
    function automatic logic [K-1:0] row_pad(input logic [OHW-1:0] oy, input int next);
        for (int ky = 0; ky < K; ky++)
            row_pad[ky] = $signed(32'(oy)) * STRIDE < PAD_T - ky - next * STRIDE ||
                          $signed(32'(oy)) * STRIDE >= IN_H + PAD_T - ky - next * STRIDE;
    endfunction
    localparam logic [K-1:0] COLS0 = col_pad('0, 0);  // the first window of a row
    localparam logic [K-1:0] ROWS0 = row_pad('0, 0);  // the first row of windows

    // ---------------------------------------------------------------- line buffer memory
    logic [W-1:0]  mem [0:DEPTH-1];
    logic [W-1:0]  mem_q;
    logic          wr_en, rd_en;
    logic [AW-1:0] wr_addr, rd_addr;

    always_ff @(posedge clk) begin
        if (wr_en) mem[wr_addr] <= s_axis_tdata;
        if (rd_en) mem_q <= mem[rd_addr];
    end

    // ---------------------------------------------------------------- state
    logic [CBW-1:0]        r_cb;
    logic [KW-1:0]         r_kx, r_ky;
    logic [OWW-1:0]        r_ox;
    logic [OHW-1:0]        r_oy;
    // Padding as masks of the window rather than padded-pixel counters with four compares
    // (about 20 more LUTs in Yosys on the z2's windows): which of the window's columns and
    // rows are padding. Only a step to the next window (output row) changes them, from
    // r_ox (r_oy) alone; the beat's flag picks bit kx of one and ky of the other.
    logic [K-1:0]          win_cols, win_rows;   // col_pad(ox, 0), row_pad(oy, 0)
    logic                  r_pad;        // the reader's beat is padding
    logic [AW-1:0]         r_addr;       // its memory address (where it is not padding)
    // written beats - the reader's beat position - 1: the reader's beat is written iff >= 0
    logic signed [DW-1:0]  ahead;
    logic [RBW-1:0]        w_col;        // next beat within the row
    logic                  w_last_col;   // w_col == ROWB - 1, a register (see w_row_done)
    logic signed [YW-1:0]  w_row;        // row being written, numbered in the reader's frame
    // window top + R - 1 - w_row: the writer may write its row iff >= 0 (the reader never
    // goes back above the window's top, so the row R above is free)
    logic signed [YW-1:0]  room;
    logic                  w_in_frame;   // w_row < 2*IN_H: within the next frame (see s_axis_tready)
    logic                  started;      // a beat of the reader's frame has been written

    // ---------------------------------------------------------------- output queue
    // Three entries: with one read in flight the reader may issue whenever the queue has
    // room for it and the in-flight read, which sustains one beat per cycle without looking
    // at tready.
    logic [1:0] oq_free;                // free entries of the 3-entry queue
    logic       rd_pending, rd_pad;     // read issued last cycle, and whether it was padding

    // ---------------------------------------------------------------- reader control
    logic issue, frame_done, w_row_done;
    logic last_cb, last_kx, last_ky, last_ox, last_oy;   // the counters at their last value
    logic [CBW-1:0]       cb_n;
    logic [KW-1:0]        kx_n, ky_n;
    logic [OWW-1:0]       ox_n;
    logic [OHW-1:0]       oy_n;
    logic [K-1:0]         win_cols_n, win_rows_n;
    logic [AW-1:0]        addr_n;        // the read address after the step

    // A frame starts only after its first input beat, even where it begins with padding, so
    // no output of a frame that never comes is sent. A data beat needs its beat written.
    assign issue = started && (r_pad || !ahead[DW-1]) && oq_free > 2'(rd_pending);
    assign rd_en = issue && !r_pad;
    assign rd_addr = r_addr;

    typedef enum logic [2:0] {S_BEAT, S_KY, S_OX, S_OY, S_FR} step_kind_t;
    step_kind_t kind;                   // what the reader's next issue moves (a register)

    function automatic step_kind_t step_kind(input logic cb, kx, ky, ox, oy);
        // the counters that are at their last value -> the step the next issue makes
        step_kind = !cb ? S_BEAT : !kx ? S_BEAT : !ky ? S_KY : !ox ? S_OX : !oy ? S_OY : S_FR;
    endfunction

    always_comb begin
        frame_done = issue && kind == S_FR;

        // The reader's next position, should it issue (from its counters only: issue is
        // the registers' enable, not in their data path).
        cb_n = last_cb ? '0 : r_cb + 1'b1;
        kx_n = r_kx; ky_n = r_ky; ox_n = r_ox; oy_n = r_oy;
        if (last_cb) begin
            kx_n = last_kx ? '0 : r_kx + 1'b1;
            if (last_kx) begin
                ky_n = last_ky ? '0 : r_ky + 1'b1;
                if (last_ky) begin
                    ox_n = last_ox ? '0 : r_ox + 1'b1;
                    if (last_ox) oy_n = last_oy ? '0 : r_oy + 1'b1;
                end
            end
        end

        // the padding masks after the step (kind says which counters roll over)
        win_cols_n = win_cols; win_rows_n = win_rows;
        case (kind)
            S_OX: win_cols_n = col_pad(r_ox, 1);                // next window, same row
            S_OY: begin                                         // next output row
                win_cols_n = COLS0;
                win_rows_n = row_pad(r_oy, 1);
            end
            S_FR: begin                                         // next frame
                win_cols_n = COLS0;
                win_rows_n = ROWS0;
            end
            default: ;
        endcase
    end

    // The constants of each kind of step, so that every register below adds one constant
    // to itself (one adder each, no adder before it).
    logic signed [DW-1:0] step_w, step_nw;   // ahead's change with and without a write
    logic signed [YW-1:0] top_step;          // the window's top row
    always_comb begin
        case (kind)
            S_BEAT:  begin step_nw = -DW'(1); step_w = '0; top_step = '0; end
            S_KY:    begin step_nw = -DW'(STEP_KY); step_w = DW'(1 - STEP_KY); top_step = '0; end
            S_OX:    begin step_nw = -DW'(STEP_OX); step_w = DW'(1 - STEP_OX); top_step = '0; end
            S_OY:    begin
                step_nw = -DW'(STEP_OY); step_w = DW'(1 - STEP_OY); top_step = YW'(STRIDE);
            end
            default: begin
                step_nw = -DW'(STEP_FR); step_w = DW'(1 - STEP_FR); top_step = YW'(TOP_FR);
            end
        endcase
    end

    // The read address after the step, and the write address.
    if (SPLIT) begin : g_split_addr
        // {row slot, beat column}: the column adds its step modulo PITCH by itself; the slot
        // adds its step modulo R (two sums of SW + 1 bits where R is not a power of two)
        logic [SW+CW-1:0] a_step;
        logic [SW-1:0]    w_slot;        // the writer's row slot
        always_comb begin
            case (kind)
                S_BEAT:  a_step = SA_BEAT;
                S_KY:    a_step = SA_KY;
                S_OX:    a_step = SA_OX;
                S_OY:    a_step = SA_OY;
                default: a_step = SA_FR;
            endcase
        end
        assign addr_n[CW-1:0] = r_addr[CW-1:0] + a_step[CW-1:0];
        if ((1 << SW) == R) begin : g_pow2
            assign addr_n[CW+:SW] = r_addr[CW+:SW] + a_step[CW+:SW];
        end else begin : g_wrap
            logic [SW:0] slot_sum, slot_wrap;
            assign slot_sum  = {1'b0, r_addr[CW+:SW]} + {1'b0, a_step[CW+:SW]};
            assign slot_wrap = slot_sum - (SW + 1)'(R);
            assign addr_n[CW+:SW] = slot_wrap[SW] ? slot_sum[SW-1:0] : slot_wrap[SW-1:0];
        end
        always_ff @(posedge clk) begin
            if (!rst_n) w_slot <= '0;
            else if (w_row_done) w_slot <= (w_slot == SW'(R - 1)) ? '0 : w_slot + 1'b1;
        end
        assign wr_addr = {w_slot, CW'(w_col)};
    end else begin : g_linear_addr
        // rows back to back: r_addr + the step modulo DEPTH, both sums at once, the wrapped
        // one where it is >= 0
        logic [AW-1:0]        a_step;
        logic signed [AW+1:0] a_wstep;       // a_step - DEPTH
        logic [AW-1:0]        a_sum;
        logic signed [AW+1:0] a_wrap;
        always_comb begin
            // (each case's a_wstep a constant: no subtraction after the case)
            case (kind)
                S_BEAT:  begin a_step = A_BEAT; a_wstep = $signed({2'b0, A_BEAT}) - WRAP; end
                S_KY:    begin a_step = A_KY;   a_wstep = $signed({2'b0, A_KY}) - WRAP;   end
                S_OX:    begin a_step = A_OX;   a_wstep = $signed({2'b0, A_OX}) - WRAP;   end
                S_OY:    begin a_step = A_OY;   a_wstep = $signed({2'b0, A_OY}) - WRAP;   end
                default: begin a_step = A_FR;   a_wstep = $signed({2'b0, A_FR}) - WRAP;   end
            endcase
            a_sum  = r_addr + a_step;
            a_wrap = $signed({2'b0, r_addr}) + a_wstep;
        end
        assign addr_n = a_wrap[AW+1] ? a_sum : a_wrap[AW-1:0];
        always_ff @(posedge clk) begin
            if (!rst_n) wr_addr <= '0;
            else if (wr_en) wr_addr <= (wr_addr == AW'(DEPTH - 1)) ? '0 : wr_addr + 1'b1;
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            r_cb <= '0; r_kx <= '0; r_ky <= '0; r_ox <= '0; r_oy <= '0;
            win_cols <= COLS0; win_rows <= ROWS0;
            r_pad <= COLS0[0] || ROWS0[0];
            r_addr <= ADDR_START;
            last_cb <= CB == 1; last_kx <= K == 1; last_ky <= K == 1;
            last_ox <= OW == 1; last_oy <= OH == 1;
            kind <= step_kind(CB == 1, K == 1, K == 1, OW == 1, OH == 1);
        end else if (issue) begin
            last_cb <= cb_n == CBW'(CB - 1);
            last_kx <= kx_n == KW'(K - 1);
            last_ky <= ky_n == KW'(K - 1);
            last_ox <= ox_n == OWW'(OW - 1);
            last_oy <= oy_n == OHW'(OH - 1);
            kind <= step_kind(cb_n == CBW'(CB - 1), kx_n == KW'(K - 1), ky_n == KW'(K - 1),
                              ox_n == OWW'(OW - 1), oy_n == OHW'(OH - 1));
            r_cb <= cb_n; r_kx <= kx_n; r_ky <= ky_n; r_ox <= ox_n; r_oy <= oy_n;
            win_cols <= win_cols_n; win_rows <= win_rows_n;
            r_pad <= win_cols_n[kx_n] || win_rows_n[ky_n];
            r_addr <= addr_n;
        end
    end

    // ---------------------------------------------------------------- writer control
    // The writer stays within one frame of the reader: it may not start the last row of the
    // frame after the reader's.
    // (wr_en without rst_n: every register it changes is reset, and the memory holds no
    // state a reset must clear)
    assign s_axis_tready = rst_n && !room[YW-1] && w_in_frame;
    assign wr_en = s_axis_tvalid && !room[YW-1] && w_in_frame;
    // (a flag, not a compare of w_col: room's sign gates wr_en, and w_row_done picks the
    // constant room adds)
    assign w_row_done = wr_en && w_last_col;

    // w_row + w_row_done > c, or = c with a beat of the next row written: the writer will
    // be past beat 0 of row c (a test of the registers, before frame_done selects)
    function automatic logic w_past(input logic signed [YW-1:0] c);
        w_past = w_row > c || (w_row == c && (w_col != '0 || wr_en));
    endfunction
    // w_row + w_row_done < c
    function automatic logic w_below(input logic signed [YW-1:0] c);
        w_below = w_row < c - 1 || (w_row == c - 1 && !w_row_done);    // (signed: c - 1)
    endfunction

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            w_col <= '0; w_row <= '0;
            w_last_col <= ROWB == 1;
            ahead <= DW'(START - 1);
            room <= YW'(R - 1 - PAD_T);
            w_in_frame <= 1'b1;
            started <= 1'b0;
        end else begin
            if (wr_en) begin
                w_col <= w_row_done ? '0 : w_col + 1'b1;
                w_last_col <= w_row_done ? ROWB == 1 : w_col == RBW'(ROWB - 2);
            end
            // renumbered when the reader moves to its next frame
            w_row <= w_row + (frame_done ? (w_row_done ? YW'(1 - IN_H) : YW'(-IN_H))
                                         : YW'(w_row_done));
            // (each of these a register plus one of a few constants: one adder)
            ahead <= ahead + (issue ? (wr_en ? step_w : step_nw) : DW'(wr_en));
            room <= room + (issue ? (w_row_done ? top_step - 1'b1 : top_step)
                                  : (w_row_done ? -YW'(1) : '0));
            w_in_frame <= frame_done ? w_below(YW'(3 * IN_H)) : w_below(YW'(2 * IN_H));
            started <= frame_done ? w_past(YW'(IN_H)) : w_past('0);
        end
    end

    // ---------------------------------------------------------------- output queue
    always_ff @(posedge clk) begin
        if (!rst_n) begin
            rd_pending <= 1'b0;
            rd_pad <= 1'b0;
        end else begin
            rd_pending <= issue;
            rd_pad <= r_pad;
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

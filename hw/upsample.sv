// Nearest-neighbour upsampling by FACTOR; semantics: flow/layers/upsample.py.
//
// PE elements per beat, CHANNELS/PE beats per pixel. Each input row is written into a
// one-row buffer (synchronous read, BRAM-inferable) and read FACTOR times; within a pass
// every pixel's beats are sent FACTOR times. The reader issues one read per output beat, so
// the output runs at one beat per cycle.
//
// The writer may run one row ahead of the reader: while the reader is in the last pass over
// its row, the writer refills the words the reader has finished with (those left of the
// current pixel). The reader reads a word once the writer has written it for its row.
// Latency: one memory read cycle plus the output queue; m_tvalid comes from a register.
module upsample #(
    parameter int PE       = 1,
    parameter int BITS     = 8,
    parameter int CHANNELS = 1,
    /* verilator lint_off UNUSEDPARAM */
    parameter int IN_H     = 8,         // every row is handled alike: the height is not needed
    /* verilator lint_on UNUSEDPARAM */
    parameter int IN_W     = 8,
    parameter int FACTOR   = 2,
    // the row buffer in LUT-RAM up to this many bits, else block RAM (sdp_ram.sv)
    parameter int LUTRAM_MAX_BITS = 4096
) (
    input  logic               clk,
    input  logic               rst_n,
    input  logic [PE*BITS-1:0] s_axis_tdata,
    input  logic               s_axis_tvalid,
    output logic               s_axis_tready,
    output logic [PE*BITS-1:0] m_axis_tdata,
    output logic               m_axis_tvalid,
    input  logic               m_axis_tready
);
    localparam int W     = PE * BITS;
    localparam int CB    = CHANNELS / PE;           // beats per pixel
    localparam int ROWB  = IN_W * CB;               // beats per input row
    localparam int DEPTH = (ROWB > 1) ? ROWB : 2;
    localparam int AW    = $clog2(DEPTH);
    localparam int CW    = $clog2(ROWB + 1);        // holds 0..ROWB
    localparam int CBW   = (CB > 1) ? $clog2(CB) : 1;
    localparam int FW    = (FACTOR > 1) ? $clog2(FACTOR) : 1;
    localparam int XW    = (IN_W > 1) ? $clog2(IN_W) : 1;

    // ---------------------------------------------------------------- row buffer
    logic [W-1:0]  mem_q;
    logic          wr_en, rd_en;
    logic [AW-1:0] rd_addr;

    // ---------------------------------------------------------------- writer / reader state
    logic [CW-1:0]  w_col;        // next word the writer fills
    logic           w_ahead;      // the writer is filling the row after the reader's
    logic [CBW-1:0] r_cb;
    logic [FW-1:0]  r_fx, r_fy;
    logic [XW-1:0]  r_ix;
    logic [CW-1:0]  r_pix;        // word of pixel r_ix, beat 0: r_ix*CB
    // the word read next, r_pix + r_cb, kept as a register: the read decision compares it
    // with the writer's column and every reader counter waits on that decision (the sum in
    // front of the compare made it 6.2 ns on an UltraScale+ -2, flow/measure/timing.py)
    logic [CW-1:0]  r_word;

    sdp_ram #(.WIDTH(W), .DEPTH(DEPTH), .LUTRAM_MAX_BITS(LUTRAM_MAX_BITS)) u_row (
        .clk(clk), .wr_en(wr_en), .wr_addr(w_col[AW-1:0]), .wr_data(s_axis_tdata),
        .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(mem_q));

    // ---------------------------------------------------------------- output queue
    // Three entries: with one read in flight the reader may issue whenever the queue has
    // room for it and the in-flight read, which sustains one beat per cycle without looking
    // at tready.
    logic [1:0] oq_free;        // free entries of the 3-entry queue
    logic       rd_pending;     // read issued last cycle: its word enters the queue now

    logic last_cb, last_fx, last_fy, last_ix, last_pass, w_row_done, r_row_done;

    always_comb begin
        last_cb   = r_cb == CBW'(CB - 1);
        last_fx   = r_fx == FW'(FACTOR - 1);
        last_fy   = r_fy == FW'(FACTOR - 1);
        last_ix   = r_ix == XW'(IN_W - 1);
        last_pass = last_fy;
        rd_addr   = r_word[AW-1:0];
        rd_en     = rst_n && (w_ahead || w_col > r_word) && oq_free > 2'(rd_pending);
        r_row_done = rd_en && last_cb && last_fx && last_ix && last_fy;
    end

    // The writer fills its own row freely; a row ahead it only overwrites finished words.
    assign s_axis_tready = rst_n && (!w_ahead || (last_pass && w_col < r_pix));
    assign wr_en = s_axis_tvalid && s_axis_tready;
    assign w_row_done = wr_en && w_col == CW'(ROWB - 1);

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            w_col <= '0;
            w_ahead <= 1'b0;
        end else begin
            if (wr_en) w_col <= w_row_done ? '0 : w_col + 1'b1;
            // Never both in one cycle: the reader finishes a row only after the writer did,
            // and the writer finishes the next one only after the reader left it.
            if (w_row_done)      w_ahead <= 1'b1;
            else if (r_row_done) w_ahead <= 1'b0;
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            r_cb <= '0; r_fx <= '0; r_fy <= '0; r_ix <= '0; r_pix <= '0; r_word <= '0;
        end else if (rd_en) begin
            r_cb   <= last_cb ? '0 : r_cb + 1'b1;
            r_word <= r_word + 1'b1;
            if (last_cb) begin
                r_fx   <= last_fx ? '0 : r_fx + 1'b1;
                r_word <= r_pix;                    // the pixel again
                if (last_fx) begin
                    r_ix   <= last_ix ? '0 : r_ix + 1'b1;
                    r_pix  <= last_ix ? '0 : r_pix + CW'(CB);
                    r_word <= last_ix ? '0 : r_pix + CW'(CB);
                    if (last_ix) r_fy <= last_fy ? '0 : r_fy + 1'b1;
                end
            end
        end
    end

    // ---------------------------------------------------------------- output queue
    always_ff @(posedge clk) begin
        if (!rst_n) rd_pending <= 1'b0;
        else        rd_pending <= rd_en;
    end

    axis_output_queue #(.WIDTH(W)) u_oq (
        .clk          (clk),
        .rst_n        (rst_n),
        .push         (rd_pending),
        .push_data    (mem_q),
        .free         (oq_free),
        .m_axis_tdata (m_axis_tdata),
        .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready)
    );
endmodule

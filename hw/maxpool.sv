// K x K max-pooling, stride K; semantics: flow/layers/maxpool.py.
//
// PE elements per beat, CHANNELS/PE beats per pixel. Input rows and columns beyond
// IN_H/K*K and IN_W/K*K are consumed and dropped. One buffer word per output (column,
// channel beat) holds the running maximum of the window being accumulated; the beat of the
// window's last pixel (ky = kx = K-1) produces the output beat. One input beat per cycle.
//
// Pipeline: the buffer has a synchronous read (BRAM-inferable), so an accepted beat reads its
// running maximum at the accepting edge and is combined and written back one cycle later.
// When the very next beat hits the same word (CHANNELS/PE = 1 and kx > 0), the value being
// written is forwarded instead of the stale read. m_tvalid comes from a register.
module maxpool #(
    parameter int PE       = 1,
    parameter int BITS     = 8,
    parameter int SIGNED   = 1,
    parameter int CHANNELS = 1,
    parameter int IN_H     = 8,
    parameter int IN_W     = 8,
    parameter int K        = 2,
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
    localparam int OH    = IN_H / K;
    localparam int OW    = IN_W / K;
    localparam int DEPTH = (OW * CB > 1) ? OW * CB : 2;
    localparam int AW    = $clog2(DEPTH);
    localparam int CBW   = (CB > 1) ? $clog2(CB) : 1;
    localparam int KW    = (K > 1) ? $clog2(K) : 1;
    localparam int XW    = $clog2(IN_W + 1);
    localparam int YW    = $clog2(IN_H + 1);

    // ---------------------------------------------------------------- input position
    logic [CBW-1:0] cb;
    logic [KW-1:0]  kx, ky;
    logic [XW-1:0]  ix;          // input column
    logic [YW-1:0]  iy;          // input row
    logic [AW-1:0]  col_addr;    // buffer word of (ix / K, channel beat 0)

    logic keep, first, last_px, acc;
    logic last_cb, last_kx, last_ky, last_ix, last_iy;
    logic [AW-1:0] addr;

    always_comb begin
        keep    = (ix < XW'(OW * K)) && (iy < YW'(OH * K));
        first   = kx == '0 && ky == '0;                     // window starts: ignore the buffer
        last_px = kx == KW'(K - 1) && ky == KW'(K - 1);     // window complete: emit
        addr    = col_addr + AW'(cb);
        last_cb = cb == CBW'(CB - 1);
        last_kx = kx == KW'(K - 1);
        last_ky = ky == KW'(K - 1);
        last_ix = ix == XW'(IN_W - 1);
        last_iy = iy == YW'(IN_H - 1);
    end

    // ---------------------------------------------------------------- stage 1 (after the read)
    logic          v1, first1, emit1, fwd1;
    logic [W-1:0]  x1, fwd_data, mem_q, new1;
    logic [AW-1:0] addr1;

    // ---------------------------------------------------------------- output queue
    // Three entries: an emitting beat may be accepted whenever the queue has room for it and
    // the beat in stage 1, which sustains one beat per cycle without looking at m_tready
    // (so s_tready has no combinational path from m_tready).
    logic [1:0] oq_free;        // free entries of the 3-entry queue

    assign s_axis_tready = rst_n && (!(keep && last_px) || oq_free > 2'(v1 && emit1));
    assign acc = s_axis_tvalid && s_axis_tready;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            cb <= '0; kx <= '0; ky <= '0; ix <= '0; iy <= '0; col_addr <= '0;
        end else if (acc) begin
            cb <= last_cb ? '0 : cb + 1'b1;
            if (last_cb) begin
                ix <= last_ix ? '0 : ix + 1'b1;
                kx <= (last_kx || last_ix) ? '0 : kx + 1'b1;
                if (last_kx) col_addr <= col_addr + AW'(CB);
                if (last_ix) begin
                    col_addr <= '0;
                    iy <= last_iy ? '0 : iy + 1'b1;
                    ky <= (last_ky || last_iy) ? '0 : ky + 1'b1;
                end
            end
        end
    end

    function automatic logic [BITS-1:0] elem_max(input logic [BITS-1:0] a, input logic [BITS-1:0] b);
        if (SIGNED != 0) elem_max = ($signed(a) > $signed(b)) ? a : b;
        else             elem_max = (a > b) ? a : b;
    endfunction

    // The maximum with the forwarded value and with the read one side by side, selected
    // after: the block RAM's clock-to-out is the longest part of this cycle, so no
    // multiplexer stands between its output and the compare.
    logic [W-1:0] max_fwd, max_mem;
    always_comb begin
        for (int p = 0; p < PE; p++) begin
            max_fwd[p*BITS +: BITS] = elem_max(x1[p*BITS +: BITS], fwd_data[p*BITS +: BITS]);
            max_mem[p*BITS +: BITS] = elem_max(x1[p*BITS +: BITS], mem_q[p*BITS +: BITS]);
        end
        new1 = first1 ? x1 : fwd1 ? max_fwd : max_mem;
    end

    sdp_ram #(.WIDTH(W), .DEPTH(DEPTH), .LUTRAM_MAX_BITS(LUTRAM_MAX_BITS)) u_buf (
        .clk(clk), .wr_en(v1), .wr_addr(addr1), .wr_data(new1),
        .rd_en(acc && keep), .rd_addr(addr), .rd_data(mem_q));

    always_ff @(posedge clk) begin
        if (acc && keep) begin
            x1 <= s_axis_tdata;
            addr1 <= addr;
            first1 <= first;
            emit1 <= last_px;
            fwd1 <= v1 && addr1 == addr;   // u_buf reads the word before this write
            fwd_data <= new1;
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) v1 <= 1'b0;
        else        v1 <= acc && keep;
    end

    // ---------------------------------------------------------------- output queue
    axis_output_queue #(.WIDTH(W)) u_oq (
        .clk          (clk),
        .rst_n        (rst_n),
        .push         (v1 && emit1),
        .push_data    (new1),
        .free         (oq_free),
        .m_axis_tdata (m_axis_tdata),
        .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready)
    );
endmodule

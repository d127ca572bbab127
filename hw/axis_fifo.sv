// First-in first-out buffer holding exactly DEPTH words in total (memory + output register),
// one beat per cycle in and out.
//
// DEPTH == 2 is a skid buffer (latency 1). Larger depths use a simple dual-port memory
// (sdp_ram.sv) with a synchronous read into the output register (the BRAM/LUTRAM output
// latch), latency 2: a beat written on one edge is read into the output register on the next. The word count includes
// the output register, so s_axis_tready (a flop) drops when DEPTH words are held.
//
// ULTRA = 1 puts the memory in UltraRAM (ram_style "ultra"; the folding's choice,
// flow/layers/fifo.py): DEPTH words of memory, read through READ_LATENCY pipeline registers
// (the URAM's output register and the cascade pipeline Vivado builds from them) into a small
// output queue, so it holds at least DEPTH words and still moves one beat per cycle.
module axis_fifo #(
    parameter integer WIDTH = 8,
    parameter integer DEPTH = 16,               // words, >= 2
    // Memories of at most this many bits go to LUT-RAM, larger ones to block RAM (sdp_ram.sv
    // applies the estimate's rule).
    parameter integer LUTRAM_MAX_BITS = 4096,
    parameter integer ULTRA = 0,
    // Words of the LUT-RAM or block RAM: DEPTH (0), or a power of two above it where that
    // costs no more memory (flow/layers/fifo.py, fifo_memory_words), so that the addresses
    // wrap by themselves instead of through a compare and a mux. The count still holds the
    // FIFO to DEPTH words.
    parameter integer MEM_WORDS = 0,
    parameter integer READ_LATENCY = 2          // ULTRA only: registers after the memory, >= 1
) (
    input  logic             clk,
    input  logic             rst_n,
    input  logic [WIDTH-1:0] s_axis_tdata,
    input  logic             s_axis_tvalid,
    output logic             s_axis_tready,
    output logic [WIDTH-1:0] m_axis_tdata,
    output logic             m_axis_tvalid,
    input  logic             m_axis_tready
);
    generate
        if (DEPTH <= 2) begin : g_skid
            // With a read latency of 2 cycles, full throughput needs 3 words; 2 words at
            // latency 1 is exactly a skid buffer.
            axis_register_slice #(.WIDTH(WIDTH)) u_skid (
                .clk          (clk),
                .rst_n        (rst_n),
                .s_axis_tdata (s_axis_tdata),
                .s_axis_tvalid(s_axis_tvalid),
                .s_axis_tready(s_axis_tready),
                .m_axis_tdata (m_axis_tdata),
                .m_axis_tvalid(m_axis_tvalid),
                .m_axis_tready(m_axis_tready)
            );
        end else if (ULTRA != 0) begin : g_uram
            localparam integer AW = $clog2(DEPTH);
            localparam integer CW = $clog2(DEPTH + 1);
            localparam integer L  = READ_LATENCY;
            localparam integer QD = L + 2;      // with L reads in flight, one beat per cycle
            localparam integer QW = $clog2(QD + 1);
            localparam integer LW = $clog2(L + 1);

            logic [AW-1:0]    wr_addr, rd_addr;
            logic [CW-1:0]    stored;           // words in the memory, not yet read out
            logic             in_ready;         // registered stored < DEPTH, low in reset
            logic [L-1:0]     pipe_valid;
            logic [QW-1:0]    q_free;
            logic [LW-1:0]    in_flight;        // reads in the pipeline (a counter, not
                                                // a sum of pipe_valid before the decision)

            function automatic [AW-1:0] next_addr(input [AW-1:0] a);
                next_addr = (a == AW'(DEPTH - 1)) ? '0 : a + 1'b1;
            endfunction

            // The ready and read decisions read flags of `stored` (registered, or compares of
            // the register beside them) rather than the next count: a deep FIFO's count is
            // 13-18 bits, and compare -> read -> count update -> compare was 7 ns on an
            // UltraScale+ -2 by flow/measure/timing.py, over a 200 MHz cycle.
            logic has_data;                     // registered stored != 0
            wire push = s_axis_tvalid && in_ready;
            // read only when the queue will have room for this read and those in flight
            wire rd_en = has_data && QW'(q_free) > QW'(in_flight);
            wire [CW-1:0] stored_d = stored + CW'(push) - CW'(rd_en);
            // stored_d == DEPTH (no push when full) and stored_d == 0 (no read when empty)
            wire full_d  = !rd_en && (stored == CW'(DEPTH) || (stored == CW'(DEPTH - 1) && push));
            wire empty_d = !push && (stored == '0 || (stored == CW'(1) && rd_en));

            // Memory and read pipeline: no reset, so they map to UltraRAM and its registers.
            // Stage 0 is the memory's read register, stages 1 .. L-1 follow it.
            localparam integer PW = (L > 1 ? L - 1 : 1) * WIDTH;
            logic [WIDTH-1:0] mem_q;
            logic [PW-1:0]    pipe;             // stage i at [(i-1)*WIDTH +: WIDTH]
            sdp_ram #(.WIDTH(WIDTH), .DEPTH(DEPTH), .ULTRA(1)) u_mem (
                .clk(clk), .wr_en(push), .wr_addr(wr_addr), .wr_data(s_axis_tdata),
                .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(mem_q));
            always_ff @(posedge clk) pipe <= PW'({pipe, mem_q});
            wire [WIDTH-1:0] pipe_out = L > 1 ? pipe[PW-1 -: WIDTH] : mem_q;

            always_ff @(posedge clk) begin
                if (!rst_n) begin
                    wr_addr    <= '0;
                    rd_addr    <= '0;
                    stored     <= '0;
                    in_ready   <= 1'b0;
                    has_data   <= 1'b0;
                    pipe_valid <= '0;
                    in_flight  <= '0;
                end else begin
                    if (push)  wr_addr <= next_addr(wr_addr);
                    if (rd_en) rd_addr <= next_addr(rd_addr);
                    stored     <= stored_d;
                    in_ready   <= !full_d;
                    has_data   <= !empty_d;
                    pipe_valid <= L'({pipe_valid, rd_en});
                    in_flight  <= in_flight + LW'(rd_en) - LW'(pipe_valid[L-1]);
                end
            end

            axis_output_queue #(.WIDTH(WIDTH), .DEPTH(QD)) u_oq (
                .clk          (clk),
                .rst_n        (rst_n),
                .push         (pipe_valid[L-1]),
                .push_data    (pipe_out),
                .free         (q_free),
                .m_axis_tdata (m_axis_tdata),
                .m_axis_tvalid(m_axis_tvalid),
                .m_axis_tready(m_axis_tready)
            );
            assign s_axis_tready = in_ready;
        end else begin : g_mem
            localparam integer MW = MEM_WORDS > DEPTH ? MEM_WORDS : DEPTH;
            localparam integer AW = $clog2(MW);
            localparam integer CW = $clog2(DEPTH + 1);

            logic [AW-1:0]    wr_addr, rd_addr;
            logic [CW-1:0]    count;            // words held: memory + output register
            logic             in_ready;         // registered count < DEPTH, low in reset
            logic [WIDTH-1:0] out_data;
            logic             out_valid;

            wire push      = s_axis_tvalid && in_ready;
            wire pop       = out_valid && m_axis_tready;
            wire mem_empty = count == CW'(out_valid);
            // Fetch the oldest memory word whenever the output register is free or freeing.
            wire rd_en     = !mem_empty && (!out_valid || m_axis_tready);
            wire [CW-1:0] count_d = count + CW'(push) - CW'(pop);
            // count_d == DEPTH, from compares of the register beside push and pop: push
            // follows the producer's tvalid, often logic of the producer's own, and behind
            // it an add and a compare of the count were 6 ns (hg-hpm-paper, US+ -2 model)
            wire full_d    = !pop && (count == CW'(DEPTH) || (count == CW'(DEPTH - 1) && push));

            function automatic [AW-1:0] next_addr(input [AW-1:0] a);
                if (MW == (1 << AW)) next_addr = a + 1'b1;      // wraps by itself
                else                 next_addr = (a == AW'(MW - 1)) ? '0 : a + 1'b1;
            endfunction

            // The memory's read register is the output register.
            sdp_ram #(.WIDTH(WIDTH), .DEPTH(MW), .LUTRAM_MAX_BITS(LUTRAM_MAX_BITS)) u_mem (
                .clk(clk), .wr_en(push), .wr_addr(wr_addr), .wr_data(s_axis_tdata),
                .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(out_data));

            always_ff @(posedge clk) begin
                if (!rst_n) begin
                    wr_addr   <= '0;
                    rd_addr   <= '0;
                    count     <= '0;
                    in_ready  <= 1'b0;
                    out_valid <= 1'b0;
                end else begin
                    if (push)  wr_addr <= next_addr(wr_addr);
                    if (rd_en) rd_addr <= next_addr(rd_addr);
                    count     <= count_d;
                    in_ready  <= !full_d;
                    out_valid <= rd_en || (out_valid && !m_axis_tready);
                end
            end

            assign s_axis_tready = in_ready;
            assign m_axis_tdata  = out_data;
            assign m_axis_tvalid = out_valid;
        end
    endgenerate
endmodule

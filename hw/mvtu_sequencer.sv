// The control shared by both matrix-vector units (xnor_popcount_mvtu, int_mvtu): input
// read-ahead, step issue, weight ROM and vector buffer, and the valid / fold / group pipeline.
// The MVTU around it keeps only its datapath (stage 2: registered partial results per lane
// from x1 and w1; their adder tree; the accumulator) and its output stage and queue, so the
// schedule and latency are written once and both units keep exactly the same cycle
// behaviour.
//
// Schedule (FINN's): a pixel is NF = COUT/PE output groups of SF = K/SIMD folds, one
// PE x SIMD step per cycle. In group 0 each step takes its SIMD input elements straight from
// the stream and also writes them into a one-pixel vector buffer; groups 1..NF-1 replay the
// buffer. So the input is read once per pixel, in step with its first output group, and the
// array never idles while input is available: (COUT/PE)*(K/SIMD) cycles per pixel.
//
// Flow control by credits: the datapath never stalls (no register has an enable that
// waits on the consumer). A step is issued only while `credit`: the results issued and not
// yet taken from the MVTU's output queue (`held`, counted when a group's last fold is
// issued and when `pop` takes one) are fewer than OUT_QUEUE, the queue's entries, so
// every result in flight has a place (flow/layers/base.py, output_queue_depth, sizes the
// queue so that credits never hold up a consumer that takes every beat). A global enable
// (`!m_tvalid || m_tready` into every register) was a net to every register of the unit:
// 5-6 ns on an UltraScale+ -2 by flow/measure/timing.py. Pipeline (cycles):
//   step issue (counters) -> 1: weight ROM and vector buffer read (synchronous), input beat
//   registered: x1, w1 -> 2: the MVTU's per-lane partial results of x1, w1 -> SUM_STAGES
//   more: their adder tree (adder_tree.sv), its root with sum_valid / sum_first ->
//   3 + SUM_STAGES: the MVTU's accumulator, complete for group acc_nf when acc_valid.
module mvtu_sequencer #(
    parameter integer PE          = 1,
    parameter integer SIMD        = 1,
    parameter integer K           = 1,
    parameter integer COUT        = 1,
    parameter integer IN_W        = 1,     // bits per input element
    parameter integer W_W         = 1,     // bits per weight
    parameter         WEIGHT_FILE = "",
    // Where the weight ROM goes, chosen by the flow (flow/layers/base.py, weight_rom): 0 block
    // RAM, 1 LUTs (distributed). Yosys 0.23 cannot map a ROM to LUT-RAM, so for Yosys a
    // distributed ROM is logic, which costs about the same LUTs (64 bits per LUT6).
    parameter integer LUT_ROM     = 0,
    // Words of the read-ahead FIFO's memory (axis_fifo MEM_WORDS): 0 (its DEPTH), or the power
    // of two above it that the flow gives where it takes no more LUT-RAM
    // (flow/layers/fifo.py, fifo_memory_words), so its addresses wrap without a compare.
    parameter integer READ_AHEAD_MEM_WORDS = 0,
    // Registered stages of the MVTU's adder tree between its stage-2 registers and its
    // accumulator (flow/layers/base.py, sum_stages): the control waits as long.
    parameter integer SUM_STAGES = 0,
    // Entries of the MVTU's output queue: the results in flight and queued at most.
    parameter integer OUT_QUEUE = 2
) (
    input  logic                     clk,
    input  logic                     rst_n,
    input  logic                     pop,    // the MVTU's output queue gives a result
    input  logic [SIMD*IN_W-1:0]     s_axis_tdata,
    input  logic                     s_axis_tvalid,
    output logic                     s_axis_tready,
    // stage 1: the step's operands (registers), for the stage-2 datapath
    output logic [SIMD*IN_W-1:0]     x1,     // SIMD input elements, element i at i*IN_W
    output logic [PE*SIMD*W_W-1:0]   w1,     // lane p, element i at (p*SIMD + i)*W_W
    // aligned with the root of the MVTU's adder tree, for the accumulator
    output logic                     sum_valid,  // a step's sum is there: accumulate it
    output logic                     sum_first,  // its first fold: start from zero
    // aligned with the accumulator, for the output stage
    output logic                     acc_valid,  // the accumulator holds group acc_nf complete
    output logic [(COUT/PE > 1 ? $clog2(COUT/PE) : 1)-1:0] acc_nf
);
    localparam integer SF     = K / SIMD;            // folds per output group
    localparam integer NF     = COUT / PE;           // output groups per pixel
    localparam integer SF_W   = SF > 1 ? $clog2(SF) : 1;
    localparam integer NF_W   = NF > 1 ? $clog2(NF) : 1;
    localparam integer WA_W   = NF * SF > 1 ? $clog2(NF * SF) : 1;
    localparam integer XV_W   = SIMD * IN_W;         // one step's input elements
    localparam integer WV_W   = PE * SIMD * W_W;     // one step's weights

    // ---- input read-ahead ---------------------------------------------------------------------
    // Groups 1..NF-1 replay the buffered vector and read no input, so a one-pixel FIFO in
    // front lets the producer deliver the next pixel meanwhile: group 0 then reads it at one
    // beat per cycle, and a pixel costs max(producer, NF*SF) cycles instead of their sum.
    logic [XV_W-1:0] in_tdata;
    logic in_tvalid, in_tready;
    generate
        if (NF > 1) begin : g_read_ahead
            axis_fifo #(.WIDTH(XV_W), .DEPTH(SF > 2 ? SF : 2),
                        .MEM_WORDS(READ_AHEAD_MEM_WORDS)) u_read_ahead (
                .clk(clk), .rst_n(rst_n),
                .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid),
                .s_axis_tready(s_axis_tready),
                .m_axis_tdata(in_tdata), .m_axis_tvalid(in_tvalid), .m_axis_tready(in_tready));
        end else begin : g_direct
            assign in_tdata      = s_axis_tdata;
            assign in_tvalid     = s_axis_tvalid;
            assign s_axis_tready = in_tready;
        end
    endgenerate

    // ---- step issue -------------------------------------------------------------------------
    logic [SF_W-1:0] sf;
    logic [NF_W-1:0] nf;
    logic [WA_W-1:0] waddr;     // nf*SF + sf
    logic            from_in;   // nf == 0, registered: group 0 takes the vector from the stream
    logic            step;
    // Results issued (a group's last fold) and not yet popped, as a thermometer code
    // (held[i]: more than i), so the next credit is a bit of a shift, not a sum and compare.
    logic [OUT_QUEUE-1:0] held, held_d;
    logic            credit;       // registered: fewer than OUT_QUEUE held; low in reset
    // credit && from_in as a register of its own (low in reset): from_in also selects the
    // vector register's SIMD inputs, and that fan-out in front of the read-ahead FIFO's read
    // enable (as wide) was 5.2 ns on hg-hpm-paper's 288-input units (US+ -2 model).
    logic            take_in;
    logic            from_in_d;
    assign step          = credit && (!from_in || in_tvalid);
    assign in_tready     = take_in;

    // ---- credits -------------------------------------------------------------------------
    wire issue_last = step && sf == SF_W'(SF - 1);
    always_comb begin
        held_d = held;
        if (issue_last && !pop)
            held_d = OUT_QUEUE'({held, 1'b1});
        else if (pop && !issue_last)
            held_d = held >> 1;
    end
    // with one output group every step reads the stream
    assign from_in_d = NF == 1 || (issue_last ? nf == NF_W'(NF - 1) : from_in);
    always_ff @(posedge clk) begin
        if (!rst_n) begin
            held    <= '0;
            credit  <= 1'b0;
            take_in <= 1'b0;
            from_in <= 1'b1;
        end else begin
            held    <= held_d;
            credit  <= !held_d[OUT_QUEUE-1];
            take_in <= !held_d[OUT_QUEUE-1] && from_in_d;
            from_in <= from_in_d;
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            sf      <= '0;
            nf      <= '0;
            waddr   <= '0;
        end else if (step) begin
            if (sf == SF_W'(SF - 1)) begin
                sf      <= '0;
                nf      <= (nf == NF_W'(NF - 1)) ? '0 : nf + 1'b1;
            end else begin
                sf <= sf + 1'b1;
            end
            waddr <= (waddr == WA_W'(NF * SF - 1)) ? '0 : waddr + 1'b1;
        end
    end

    // ---- stage 1: memories ------------------------------------------------------------------
    logic [WV_W-1:0] wrd;              // the weight word at waddr, registered into w1
    generate
        if (LUT_ROM != 0) begin : g_lut_rom
`ifdef YOSYS
            (* rom_style = "logic" *)
`else
            (* rom_style = "distributed" *)
`endif
            logic [WV_W-1:0] wrom [0:NF*SF-1];
            if (WEIGHT_FILE != "") begin : g_init
                initial $readmemh(WEIGHT_FILE, wrom);
            end
            assign wrd = wrom[waddr];
        end else begin : g_block_rom
            (* rom_style = "block" *)
            logic [WV_W-1:0] wrom [0:NF*SF-1];
            if (WEIGHT_FILE != "") begin : g_init
                initial $readmemh(WEIGHT_FILE, wrom);
            end
            assign wrd = wrom[waddr];
        end
    endgenerate

    logic [XV_W-1:0] vbuf [0:SF-1];    // the current pixel's input vector
    always_ff @(posedge clk) begin
        if (in_tvalid && take_in)       // = step && from_in
            vbuf[sf] <= in_tdata;
    end

    // The vector register reads the buffer write-first: group 0 takes the input beat being
    // written (the entry still holds the previous pixel), later groups the buffer. Selected
    // before the register, so the popcounts start from a register (the select after it
    // was 5.8 ns to the partial counts on an UltraScale+ -2, flow/measure/timing.py).
    logic            v1, first1, last1;
    logic [NF_W-1:0] nf1;
    always_ff @(posedge clk) begin
        w1     <= wrd;
        x1     <= from_in ? in_tdata : vbuf[sf];
        first1 <= sf == '0;
        last1  <= sf == SF_W'(SF - 1);
        nf1    <= nf;
    end

    // ---- stage 2 and the adder tree's stages: control alongside the datapath ---------------
    // Bit (field) d of each delay line is stage 2 + d; d = SUM_STAGES is at the tree's root.
    // Packed vectors, so Yosys has no memories to dissolve.
    localparam integer D = SUM_STAGES + 1;
    logic [D-1:0]      vd, firstd, lastd;
    logic [D*NF_W-1:0] nfd;
    always_ff @(posedge clk) begin
        firstd <= D'({firstd, first1});
        lastd  <= D'({lastd, last1});
        nfd    <= (D*NF_W)'({nfd, nf1});
    end
    assign sum_valid = vd[D-1];
    assign sum_first = firstd[D-1];

    // ---- the accumulator's stage: the group whose accumulation completes ---------------------
    always_ff @(posedge clk) begin
        if (sum_valid)
            acc_nf <= nfd[(D-1)*NF_W +: NF_W];
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            v1        <= 1'b0;
            vd        <= '0;
            acc_valid <= 1'b0;
        end else begin
            v1        <= step;
            vd        <= D'({vd, v1});
            acc_valid <= sum_valid && lastd[D-1];
        end
    end
endmodule

// XNOR-popcount matrix-vector unit (kind xnor_mvtu): P[o] = #{k : x[k] == w[o,k]} per pixel,
// then the output stage (0 = P itself, 1 = thresholds, 2 = requantizer).
//
// Schedule (FINN's, in mvtu_sequencer): a pixel is NF = COUT/PE output groups of SF = K/SIMD
// folds, one PE x SIMD step per cycle; the input is read once per pixel, in step with its
// first output group, so a pixel costs (COUT/PE)*(K/SIMD) cycles.
//
// Flow control by credits (mvtu_sequencer): the datapath never stalls; a step is issued
// only while the output queue (OUT_QUEUE entries) has room for every result in flight.
// Pipeline (cycles):
//   step issue (counters)  -> 1: weight ROM and vector buffer read (synchronous), input beat
//   registered (all in mvtu_sequencer) -> 2: per-lane popcounts of the SIMD XNORs, in groups ->
//   SUM_STAGES: the group counts' adder tree -> 3 + SUM_STAGES: accumulator (P complete on
//   the last fold) -> output stage (0 cycles for OUT_STAGE 0;
//   3 for thresholds; 4 for the requantizer) -> the output queue (1 cycle).
module xnor_popcount_mvtu #(
    parameter integer PE          = 1,
    parameter integer SIMD        = 1,
    parameter integer K           = 1,
    parameter integer COUT        = 1,
    // the count P (0..K) as a signed number, the output stage's input; the generator passes
    // flow/layers/thresholding.output_stage_x_bits
    parameter integer X_BITS      = $clog2(K + 1) + 1,
    parameter         WEIGHT_FILE = "",
    parameter integer LUT_ROM     = 0,        // weight ROM: 0 block RAM, 1 LUTs
    parameter integer READ_AHEAD_MEM_WORDS = 0,   // mvtu_sequencer's read-ahead FIFO memory
    parameter integer POPCOUNT_GROUP = 12,    // bits per registered partial count (flow/layers/xnor_mvtu.py)
    parameter integer SUM_STAGES  = 0,
    parameter integer OUT_QUEUE   = 2,        // output queue entries (flow/layers/base.py)        // the group counts' adder tree (adder_tree.sv)
    // output stage
    parameter integer OUT_STAGE   = 0,
    parameter integer OUT_BITS    = 8,
    /* verilator lint_off UNUSEDPARAM */
    parameter integer OUT_SIGNED  = 0,    // describes the output type; no logic needs it
    /* verilator lint_on UNUSEDPARAM */
    parameter integer LEVELS      = 1,
    parameter integer T_BITS      = 8,
    parameter integer BASE        = 0,
    parameter         THRESH_FILE = "",
    parameter integer MUL_BITS    = 8,
    parameter integer ADD_BITS    = 8,
    parameter integer SPLIT_BITS  = 8,
    parameter integer SHIFT       = 0,
    parameter integer OUT_MIN     = 0,
    parameter integer OUT_MAX     = 0,
    parameter         RQ_FILE     = "",
    parameter integer SEG_ADDRESS = 1     // requant_unit's table layout
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic [SIMD-1:0]        s_axis_tdata,
    input  logic                   s_axis_tvalid,
    output logic                   s_axis_tready,
    output logic [PE*OUT_BITS-1:0] m_axis_tdata,
    output logic                   m_axis_tvalid,
    input  logic                   m_axis_tready
);
    localparam integer NF     = COUT / PE;           // output groups per pixel
    localparam integer NF_W   = NF > 1 ? $clog2(NF) : 1;

    logic pop;                     // the output queue gives a result
    assign pop = m_axis_tvalid && m_axis_tready;

    // ---- control: read-ahead, step issue, weight ROM, vector buffer, valid pipeline ---------
    logic [SIMD-1:0]      x1;          // stage 1: the step's SIMD input bits
    logic [PE*SIMD-1:0]   w1;          // stage 1: the step's weight bits, lane p at p*SIMD
    logic                 sum_valid, sum_first;  // accumulate step, from zero if sum_first
    logic                 acc_valid;   // P of group acc_nf is complete in acc_x
    logic [NF_W-1:0]      acc_nf;
    mvtu_sequencer #(
        .PE(PE), .SIMD(SIMD), .K(K), .COUT(COUT), .IN_W(1), .W_W(1),
        .WEIGHT_FILE(WEIGHT_FILE), .LUT_ROM(LUT_ROM),
        .READ_AHEAD_MEM_WORDS(READ_AHEAD_MEM_WORDS), .SUM_STAGES(SUM_STAGES),
        .OUT_QUEUE(OUT_QUEUE)
    ) u_seq (
        .clk(clk), .rst_n(rst_n), .pop(pop),
        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid),
        .s_axis_tready(s_axis_tready),
        .x1(x1), .w1(w1), .sum_valid(sum_valid), .sum_first(sum_first),
        .acc_valid(acc_valid), .acc_nf(acc_nf)
    );

    // ---- stage 2, the adder tree, the accumulator: popcount of the XNORs over the folds ----
    // Stage 2 counts the matches in groups of at most POPCOUNT_GROUP bits and registers the
    // group counts; an adder tree sums them (registered SUM_STAGES times) into the
    // accumulator. One count over a wide SIMD (48 bits after a block RAM read) is 12-13 logic
    // levels, 10.6 ns on a 7-series -1 by flow/measure/timing.py; in groups of 12 it is 6
    // levels (7.2 ns), with no more LUTs. The schedule is the same for every SIMD; the
    // latency grows by SUM_STAGES.
    localparam integer NG   = (SIMD + POPCOUNT_GROUP - 1) / POPCOUNT_GROUP;
    localparam integer G_W  = $clog2((SIMD < POPCOUNT_GROUP ? SIMD : POPCOUNT_GROUP) + 1);
    logic [PE*X_BITS-1:0] acc_x;
    for (genvar p = 0; p < PE; p++) begin : g_lane
        // Stage 2: matches of the lane's SIMD weight bits with the input bits, per group.
        logic [SIMD-1:0] match;
        assign match = ~(x1 ^ w1[p*SIMD +: SIMD]);
        logic [NG*G_W-1:0] pc;
        for (genvar j = 0; j < NG; j++) begin : g_group
            localparam integer LO = j * POPCOUNT_GROUP;
            localparam integer N  = SIMD - LO < POPCOUNT_GROUP ? SIMD - LO : POPCOUNT_GROUP;
            always_ff @(posedge clk) begin
                pc[j*G_W +: G_W] <= G_W'($countones(match[LO +: N]));
            end
        end

        logic [X_BITS-1:0] step;
        adder_tree #(.N(NG), .IN_W(G_W), .OUT_W(X_BITS), .SIGNED(0), .STAGES(SUM_STAGES))
            u_sum (.clk(clk), .en(1'b1), .terms(pc), .sum(step));

        // The accumulator: P over the folds (never exceeds K, so no overflow).
        logic [X_BITS-1:0] acc;
        always_ff @(posedge clk) begin
            if (sum_valid)
                acc <= (sum_first ? '0 : acc) + step;
        end
        assign acc_x[p*X_BITS +: X_BITS] = acc;
    end

    // ---- output stage and output queue -----------------------------------------------------
    mvtu_output_stage #(
        .PE(PE), .X_BITS(X_BITS), .NF(NF), .OUT_STAGE(OUT_STAGE), .OUT_BITS(OUT_BITS),
        .LEVELS(LEVELS), .T_BITS(T_BITS), .BASE(BASE), .THRESH_FILE(THRESH_FILE),
        .MUL_BITS(MUL_BITS), .ADD_BITS(ADD_BITS), .SPLIT_BITS(SPLIT_BITS), .SHIFT(SHIFT),
        .OUT_MIN(OUT_MIN), .OUT_MAX(OUT_MAX), .RQ_FILE(RQ_FILE),
        .SEG_ADDRESS(SEG_ADDRESS), .OUT_QUEUE(OUT_QUEUE)
    ) u_out (
        .clk(clk), .rst_n(rst_n), .in_valid(acc_valid), .in_nf(acc_nf), .in_x(acc_x),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready)
    );
endmodule

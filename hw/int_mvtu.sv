// Integer matrix-vector unit (kind int_mvtu): acc[o] = sum_k w[o,k]*x[k] exactly, int8
// weights and IN_BITS inputs (IN_SIGNED), accumulated in ACC_BITS (signed), then the output
// stage (0 = acc itself sign-extended or truncated to OUT_BITS, 1 = thresholds,
// 2 = requantizer).
//
// Schedule (FINN's, in mvtu_sequencer): a pixel is NF = COUT/PE output groups of SF = K/SIMD
// folds, one PE x SIMD step per cycle; the input is read once per pixel, in step with its
// first output group, so a pixel costs (COUT/PE)*(K/SIMD) cycles.
//
// Flow control by credits (mvtu_sequencer): the datapath never stalls; a step is issued
// only while the output queue (OUT_QUEUE entries) has room for every result in flight.
// Pipeline (cycles):
//   step issue (counters)  -> 1: weight ROM and vector buffer read (synchronous), input beat
//   registered (all in mvtu_sequencer) -> 2: PE*SIMD products (DSP multipliers with their
//   output register) -> SUM_STAGES: the lane's adder tree over its SIMD products ->
//   3 + SUM_STAGES: the accumulator (complete on the last fold) -> output stage (0 cycles for
//   OUT_STAGE 0; 3 for thresholds; 4 for the requantizer) -> the output queue (1 cycle).
module int_mvtu #(
    parameter integer PE          = 1,
    parameter integer SIMD        = 1,
    parameter integer K           = 1,
    parameter integer COUT        = 1,
    parameter integer IN_BITS     = 8,
    parameter integer IN_SIGNED   = 0,
    parameter integer ACC_BITS    = 32,
    parameter integer PRODUCT_BITS = 17,      // one exact product (flow/layers/int_mvtu.py)
    parameter         WEIGHT_FILE = "",
    parameter integer LUT_ROM     = 0,        // weight ROM: 0 block RAM, 1 LUTs
    parameter integer READ_AHEAD_MEM_WORDS = 0,   // mvtu_sequencer's read-ahead FIFO memory
    parameter integer SUM_STAGES  = 0,        // the products' adder tree (adder_tree.sv)
    parameter integer OUT_QUEUE   = 2,        // output queue entries (flow/layers/base.py)
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
    input  logic [SIMD*IN_BITS-1:0] s_axis_tdata,
    input  logic                   s_axis_tvalid,
    output logic                   s_axis_tready,
    output logic [PE*OUT_BITS-1:0] m_axis_tdata,
    output logic                   m_axis_tvalid,
    input  logic                   m_axis_tready
);
    localparam integer NF     = COUT / PE;           // output groups per pixel
    localparam integer NF_W   = NF > 1 ? $clog2(NF) : 1;
    localparam integer XW     = IN_BITS + 1;         // input element as a signed number
    localparam integer PRW    = PRODUCT_BITS;
    if (PRW < XW + 8) begin : g_check_product
        $error("int_mvtu: PRODUCT_BITS %0d cannot hold a %0d-bit input times an int8 weight",
               PRW, IN_BITS);
    end
    localparam integer X_BITS = ACC_BITS;

    logic pop;                     // the output queue gives a result
    assign pop = m_axis_tvalid && m_axis_tready;

    // ---- control: read-ahead, step issue, weight ROM, vector buffer, valid pipeline ---------
    logic [SIMD*IN_BITS-1:0] x1;         // stage 1: the step's SIMD input elements
    logic [PE*SIMD*8-1:0]    w1;         // stage 1: the step's int8 weights, (p*SIMD + i)*8
    logic                    sum_valid, sum_first;  // accumulate sum, from zero if sum_first
    logic                    acc_valid;  // acc of group acc_nf is complete in acc_x
    logic [NF_W-1:0]         acc_nf;
    mvtu_sequencer #(
        .PE(PE), .SIMD(SIMD), .K(K), .COUT(COUT), .IN_W(IN_BITS), .W_W(8),
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

    // ---- stage 2, the adder tree, the accumulator: products summed over the folds ---------
    // Input elements as signed XW-bit numbers (zero- or sign-extended by IN_SIGNED). Packed
    // vectors rather than arrays throughout, so Yosys has no memories to dissolve.
    logic [SIMD*XW-1:0] xe;
    for (genvar i = 0; i < SIMD; i++) begin : g_elem
        logic [IN_BITS-1:0] e;
        assign e              = x1[i*IN_BITS +: IN_BITS];
        assign xe[i*XW +: XW] = {IN_SIGNED != 0 && e[IN_BITS-1], e};
    end

    logic [PE*X_BITS-1:0] acc_x;
    for (genvar p = 0; p < PE; p++) begin : g_lane
        // Stage 2: the SIMD products of the lane, one registered multiplier each.
        logic [SIMD*PRW-1:0] prods;
        for (genvar i = 0; i < SIMD; i++) begin : g_mul
            logic signed [7:0]     w;
            logic signed [XW-1:0]  x;
            logic signed [PRW-1:0] prod;
            assign w = w1[(p*SIMD + i)*8 +: 8];
            assign x = xe[i*XW +: XW];
            always_ff @(posedge clk) begin
                prod <= PRW'(w) * PRW'(x);
            end
            assign prods[i*PRW +: PRW] = prod;
        end

        // Their sum, in a tree of adders as wide as each level needs (two's complement wraps
        // at ACC_BITS, so the result is exact whenever it fits: the generator sizes ACC_BITS
        // for that), then into the accumulator.
        logic [ACC_BITS-1:0] sum;
        adder_tree #(.N(SIMD), .IN_W(PRW), .OUT_W(ACC_BITS), .SIGNED(1), .STAGES(SUM_STAGES))
            u_sum (.clk(clk), .en(1'b1), .terms(prods), .sum(sum));

        logic [ACC_BITS-1:0] acc;
        always_ff @(posedge clk) begin
            if (sum_valid)
                acc <= (sum_first ? '0 : acc) + sum;
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

// The output stage of both matrix-vector units, chosen by OUT_STAGE: 0 = the accumulators
// themselves (sign-extended or truncated to OUT_BITS), 1 = thresholds (threshold_unit),
// 2 = the two-piece requantizer (requant_unit). Every register advances on `en`; the MVTUs
// tie it high (their credits keep a place in their output queue for every result), the
// units keep it for the threshold layer, which stalls on it.
module mvtu_output_stage #(
    parameter integer PE          = 1,
    parameter integer X_BITS      = 8,     // accumulator width (signed)
    parameter integer NF          = 1,     // channel groups: CHANNELS / PE
    parameter integer OUT_STAGE   = 0,
    parameter integer OUT_BITS    = 8,
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
    input  logic                       clk,
    input  logic                       rst_n,
    input  logic                       en,
    input  logic                       in_valid,
    input  logic [(NF > 1 ? $clog2(NF) : 1)-1:0] in_nf,
    input  logic [PE*X_BITS-1:0]       in_x,
    output logic                       out_valid,
    output logic [PE*OUT_BITS-1:0]     out_y
);
    generate
        if (OUT_STAGE == 1) begin : g_thresh
            threshold_unit #(
                .PE(PE), .X_BITS(X_BITS), .NF(NF), .LEVELS(LEVELS), .T_BITS(T_BITS),
                .BASE(BASE), .OUT_BITS(OUT_BITS), .THRESH_FILE(THRESH_FILE)
            ) u_out (
                .clk(clk), .rst_n(rst_n), .en(en),
                .in_valid(in_valid), .in_nf(in_nf), .in_x(in_x),
                .out_valid(out_valid), .out_y(out_y)
            );
        end else if (OUT_STAGE == 2) begin : g_requant
            requant_unit #(
                .PE(PE), .X_BITS(X_BITS), .NF(NF), .MUL_BITS(MUL_BITS), .ADD_BITS(ADD_BITS),
                .SPLIT_BITS(SPLIT_BITS), .SHIFT(SHIFT), .OUT_MIN(OUT_MIN), .OUT_MAX(OUT_MAX),
                .OUT_BITS(OUT_BITS), .RQ_FILE(RQ_FILE),
                .SEG_ADDRESS(SEG_ADDRESS)
            ) u_out (
                .clk(clk), .rst_n(rst_n), .en(en),
                .in_valid(in_valid), .in_nf(in_nf), .in_x(in_x),
                .out_valid(out_valid), .out_y(out_y)
            );
        end else begin : g_none
            // the accumulators, straight on
            assign out_valid = in_valid;
            // no per-channel parameters to address and no registers of its own
            logic unused;
            assign unused = ^{in_nf, clk, rst_n, en};
            for (genvar p = 0; p < PE; p++) begin : g_lane_out
                // Sign-extend, or truncate (the generator guarantees the value fits).
                /* verilator lint_off UNUSEDSIGNAL */
                logic signed [X_BITS-1:0] a;
                /* verilator lint_on UNUSEDSIGNAL */
                assign a = in_x[p*X_BITS +: X_BITS];
                assign out_y[p*OUT_BITS +: OUT_BITS] = OUT_BITS'(a);
            end
        end
    endgenerate
endmodule

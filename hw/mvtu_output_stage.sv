// The output stage of both matrix-vector units, chosen by OUT_STAGE: 0 = the accumulators
// themselves (sign-extended or truncated to OUT_BITS), 1 = thresholds (threshold_unit),
// 2 = the two-piece requantizer (requant_unit); then the MVTU's output queue
// (axis_output_queue, OUT_QUEUE entries). The units advance every cycle: the MVTU's credits
// (mvtu_sequencer) keep a place in the queue for every result in flight.
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
    parameter integer SEG_ADDRESS = 1,    // requant_unit's table layout
    parameter integer OUT_QUEUE   = 2     // output queue entries (flow/layers/base.py)
) (
    input  logic                       clk,
    input  logic                       rst_n,
    input  logic                       in_valid,
    input  logic [(NF > 1 ? $clog2(NF) : 1)-1:0] in_nf,
    input  logic [PE*X_BITS-1:0]       in_x,
    output logic [PE*OUT_BITS-1:0]     m_axis_tdata,
    output logic                       m_axis_tvalid,
    input  logic                       m_axis_tready
);
    logic                   out_valid;
    logic [PE*OUT_BITS-1:0] out_y;
    generate
        if (OUT_STAGE == 1) begin : g_thresh
            threshold_unit #(
                .PE(PE), .X_BITS(X_BITS), .NF(NF), .LEVELS(LEVELS), .T_BITS(T_BITS),
                .BASE(BASE), .OUT_BITS(OUT_BITS), .THRESH_FILE(THRESH_FILE)
            ) u_out (
                .clk(clk), .rst_n(rst_n), .en(1'b1),
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
                .clk(clk), .rst_n(rst_n), .en(1'b1),
                .in_valid(in_valid), .in_nf(in_nf), .in_x(in_x),
                .out_valid(out_valid), .out_y(out_y)
            );
        end else begin : g_none
            // the accumulators, straight on
            assign out_valid = in_valid;
            // no per-channel parameters to address and no registers of its own
            logic unused;
            assign unused = ^{in_nf};
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

    // the credits keep a place for every result, so the queue's own count is not needed
    /* verilator lint_off UNUSEDSIGNAL */
    logic [$clog2(OUT_QUEUE + 1)-1:0] q_free;
    /* verilator lint_on UNUSEDSIGNAL */
    axis_output_queue #(.WIDTH(PE*OUT_BITS), .DEPTH(OUT_QUEUE)) u_queue (
        .clk(clk), .rst_n(rst_n), .push(out_valid), .push_data(out_y), .free(q_free),
        .m_axis_tdata(m_axis_tdata), .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready)
    );
endmodule

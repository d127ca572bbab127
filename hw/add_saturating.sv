// Element-wise clip(a + b, OUT_MIN, OUT_MAX) of two PE-element streams, consumed in lockstep.
// The sum is formed in a width that holds every a + b and both bounds exactly; the clipped
// value is assumed to fit OUT_BITS (the bounds come from the output type). Latency 1.
module add_saturating #(
    parameter integer PE       = 1,
    parameter integer A_BITS   = 8,
    parameter integer A_SIGNED = 1,
    parameter integer B_BITS   = 8,
    parameter integer B_SIGNED = 1,
    parameter integer OUT_BITS = 8,
    parameter integer OUT_MIN  = -128,
    parameter integer OUT_MAX  = 127
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic [PE*A_BITS-1:0]   s0_axis_tdata,
    input  logic                   s0_axis_tvalid,
    output logic                   s0_axis_tready,
    input  logic [PE*B_BITS-1:0]   s1_axis_tdata,
    input  logic                   s1_axis_tvalid,
    output logic                   s1_axis_tready,
    output logic [PE*OUT_BITS-1:0] m_axis_tdata,
    output logic                   m_axis_tvalid,
    input  logic                   m_axis_tready
);
    // Operands extended by one bit (room for an unsigned one as signed) plus one carry bit,
    // and wide enough for OUT_MIN / OUT_MAX (bounds of an OUT_BITS type, signed or not) to
    // compare exactly. (It was at least 32 bits; Yosys trimmed the copies of the sign bit
    // to the same netlist, so this states the width rather than saving logic.)
    localparam integer OP_BITS  = (A_BITS > B_BITS) ? A_BITS : B_BITS;
    localparam integer SUM_BITS = (OP_BITS + 2 > OUT_BITS + 1) ? OP_BITS + 2 : OUT_BITS + 1;
    localparam logic signed [SUM_BITS-1:0] LO = SUM_BITS'(OUT_MIN);
    localparam logic signed [SUM_BITS-1:0] HI = SUM_BITS'(OUT_MAX);

    logic [PE*OUT_BITS-1:0] sum_clipped;
    logic                   out_ready;

    always_comb begin
        for (int e = 0; e < PE; e++) begin
            logic [A_BITS-1:0]          a;
            logic [B_BITS-1:0]          b;
            logic signed [SUM_BITS-1:0] sum;
            a   = s0_axis_tdata[e*A_BITS +: A_BITS];
            b   = s1_axis_tdata[e*B_BITS +: B_BITS];
            sum = $signed({{(SUM_BITS - A_BITS){A_SIGNED != 0 && a[A_BITS-1]}}, a})
                + $signed({{(SUM_BITS - B_BITS){B_SIGNED != 0 && b[B_BITS-1]}}, b});
            if (sum < LO)      sum = LO;
            else if (sum > HI) sum = HI;
            sum_clipped[e*OUT_BITS +: OUT_BITS] = sum[OUT_BITS-1:0];
        end
    end

    // Join: a pair of beats moves only when both are present and the output has room.
    assign s0_axis_tready = out_ready && s1_axis_tvalid;
    assign s1_axis_tready = out_ready && s0_axis_tvalid;

    axis_register_slice #(.WIDTH(PE*OUT_BITS)) u_out (
        .clk          (clk),
        .rst_n        (rst_n),
        .s_axis_tdata (sum_clipped),
        .s_axis_tvalid(s0_axis_tvalid && s1_axis_tvalid),
        .s_axis_tready(out_ready),
        .m_axis_tdata (m_axis_tdata),
        .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready)
    );
endmodule

// Two-piece affine requantizer output stage, PE lanes:
//   seg = x >= split;  out = clip((mul[seg]*x + add[seg]) >>> SHIFT, OUT_MIN, OUT_MAX)
//
// Pipeline of LATENCY = 4 enabled cycles, all registers advance together on `en` (the
// caller's stall signal), `in_valid` travels with the data:
//   1: parameter ROM read at in_nf (synchronous, so large tables can map to BRAM), x registered
//   2: segment compare, select mul/add of the segment
//   3: product mul*x (a registered multiply: DSP with its output register)
//   4: + add, arithmetic shift, clip -> out_y
module requant_unit #(
    parameter integer PE         = 1,
    parameter integer X_BITS     = 8,    // lane input: signed
    parameter integer NF         = 1,    // channel groups = ROM depth (CHANNELS / PE)
    parameter integer MUL_BITS   = 8,
    parameter integer ADD_BITS   = 8,
    parameter integer SPLIT_BITS = 8,
    parameter integer SHIFT      = 0,
    parameter integer OUT_MIN    = -128,
    parameter integer OUT_MAX    = 127,
    parameter integer OUT_BITS   = 8,
    parameter         RQ_FILE    = "",
    localparam integer NF_W      = NF > 1 ? $clog2(NF) : 1
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic                   en,
    input  logic                   in_valid,
    input  logic [NF_W-1:0]        in_nf,
    input  logic [PE*X_BITS-1:0]   in_x,
    output logic                   out_valid,
    output logic [PE*OUT_BITS-1:0] out_y
);
    localparam integer RW = 2*MUL_BITS + 2*ADD_BITS + SPLIT_BITS;  // one lane's ROM field
    // Field offsets within a lane: mul0, mul1, add0, add1, split from bit 0 up.
    localparam integer O_MUL0  = 0;
    localparam integer O_MUL1  = MUL_BITS;
    localparam integer O_ADD0  = 2*MUL_BITS;
    localparam integer O_ADD1  = 2*MUL_BITS + ADD_BITS;
    localparam integer O_SPLIT = 2*MUL_BITS + 2*ADD_BITS;
    // Segment compare width; product width; sum width (one bit of headroom over both terms).
    localparam integer SCW = (X_BITS > SPLIT_BITS ? X_BITS : SPLIT_BITS) + 1;
    localparam integer PW  = X_BITS + MUL_BITS;
    localparam integer SW  = (PW > ADD_BITS ? PW : ADD_BITS) + 1;
    // Clip in a width that holds the shifted sum and the 32-bit bounds.
    localparam integer CW  = SW > 33 ? SW : 33;
    localparam logic signed [CW-1:0] LO = CW'(OUT_MIN);
    localparam logic signed [CW-1:0] HI = CW'(OUT_MAX);

    logic [PE*RW-1:0] rom [0:NF-1];
    generate
        if (RQ_FILE != "") begin : g_init
            initial $readmemh(RQ_FILE, rom);
        end
    endgenerate

    // Stage 1: ROM read, x registered.
    logic                 v1, v2, v3;
    logic [PE*RW-1:0]     p1;
    logic [PE*X_BITS-1:0] x1;
    always_ff @(posedge clk) begin
        if (en) begin
            p1 <= rom[in_nf];
            x1 <= in_x;
        end
    end

    for (genvar p = 0; p < PE; p++) begin : g_lane
        // Stage 2: pick the segment's coefficients.
        // (Signed variables, not casts of part-selects: Yosys 0.23 can mis-extend those.)
        logic signed [X_BITS-1:0]     x;
        logic signed [SPLIT_BITS-1:0] split;
        logic                         seg;
        assign x     = x1[p*X_BITS +: X_BITS];
        assign split = p1[p*RW + O_SPLIT +: SPLIT_BITS];
        assign seg   = SCW'(x) >= SCW'(split);

        logic signed [X_BITS-1:0]   x2;
        logic signed [MUL_BITS-1:0] mul2;
        logic signed [ADD_BITS-1:0] add2;
        always_ff @(posedge clk) begin
            if (en) begin
                x2   <= x;
                mul2 <= seg ? p1[p*RW + O_MUL1 +: MUL_BITS] : p1[p*RW + O_MUL0 +: MUL_BITS];
                add2 <= seg ? p1[p*RW + O_ADD1 +: ADD_BITS] : p1[p*RW + O_ADD0 +: ADD_BITS];
            end
        end

        // Stage 3: the multiply.
        logic signed [PW-1:0]       prod3;
        logic signed [ADD_BITS-1:0] add3;
        always_ff @(posedge clk) begin
            if (en) begin
                prod3 <= PW'(mul2) * PW'(x2);
                add3  <= add2;
            end
        end

        // Stage 4: offset, floor shift, saturate.
        logic signed [SW-1:0] sum;
        logic signed [CW-1:0] q;
        assign sum = SW'(prod3) + SW'(add3);
        assign q   = CW'(sum >>> SHIFT);

        logic [OUT_BITS-1:0] y;
        always_ff @(posedge clk) begin
            if (en)
                y <= OUT_BITS'(q < LO ? LO : q > HI ? HI : q);
        end
        assign out_y[p*OUT_BITS +: OUT_BITS] = y;
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            v1        <= 1'b0;
            v2        <= 1'b0;
            v3        <= 1'b0;
            out_valid <= 1'b0;
        end else if (en) begin
            v1        <= in_valid;
            v2        <= v1;
            v3        <= v2;
            out_valid <= v3;
        end
    end
endmodule

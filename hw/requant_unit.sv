// Two-piece affine requantizer output stage, PE lanes:
//   seg = x >= split;  out = clip((mul[seg]*x + add[seg]) >>> SHIFT, OUT_MIN, OUT_MAX)
//
// With SEG_ADDRESS = 1 the segment is an address bit of the parameter table rather than a
// select between two coefficient sets: the word at {seg, nf} holds, per lane, that segment's
// mul and add and the split. A lane reads its split from the seg = 0 half, compares, then
// reads MUL_BITS+ADD_BITS bits at {seg, nf}: a table twice as deep in place of a select
// after the read, a LUT per coefficient bit saved while the doubled table fits a slice's
// wide multiplexers (up to 256 words). With SEG_ADDRESS = 0 (many channel groups) a word of
// NF words holds both segments' coefficients and the segment's are selected after the read.
// The generator picks (flow/layers/requant.py, seg_address; Yosys figures in
// flow/README.md). All reads go through rom_field, whose module boundary keeps the register
// after a read a DSP input register (rom_field.sv).
//
// Pipeline of LATENCY = 4 enabled cycles, all registers advance together on `en` (the
// caller's stall signal), `in_valid` travels with the data:
//   1: split read at in_nf (address {0, in_nf} with SEG_ADDRESS); x and nf registered
//   2: segment compare; the segment's coefficients read (at {seg, nf}, or both at nf and
//      selected by seg) into the mul/add registers
//      (the DSP's A and C input registers; x's copy is its B register)
//   3: mul*x + add (the DSP's multiply-add into its P register)
//   4: arithmetic shift, clip -> out_y
module requant_unit #(
    parameter integer PE         = 1,
    parameter integer X_BITS     = 8,    // lane input: signed
    parameter integer NF         = 1,    // channel groups (CHANNELS / PE)
    parameter integer MUL_BITS   = 8,
    parameter integer ADD_BITS   = 8,
    parameter integer SPLIT_BITS = 8,
    parameter integer SHIFT      = 0,
    parameter integer OUT_MIN    = -128,
    parameter integer OUT_MAX    = 127,
    parameter integer OUT_BITS   = 8,
    parameter         RQ_FILE    = "",
    // 1: the segment is an address bit of the table (word {seg, nf}); 0: both segments'
    // coefficients in one word of NF words, the segment's selected after the read
    parameter integer SEG_ADDRESS = 1,
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
    // One segment's coefficients: mul, add from bit 0 up. A lane's ROM field: the
    // coefficients of the word's segment (SEG_ADDRESS) or of segment 0 then 1, then the split.
    localparam integer CB      = MUL_BITS + ADD_BITS;
    localparam integer O_MUL   = 0;
    localparam integer O_ADD   = MUL_BITS;
    localparam integer SEGS    = SEG_ADDRESS != 0 ? 1 : 2;   // segments' coefficients per word
    localparam integer O_SPLIT = SEGS * CB;
    localparam integer RW      = O_SPLIT + SPLIT_BITS;
    localparam integer AW      = SEG_ADDRESS != 0 ? NF_W + 1 : NF_W;  // table address bits
    // Segment compare width; product width; sum width (one bit of headroom over both terms).
    localparam integer SCW = (X_BITS > SPLIT_BITS ? X_BITS : SPLIT_BITS) + 1;
    localparam integer PW  = X_BITS + MUL_BITS;
    localparam integer SW  = (PW > ADD_BITS ? PW : ADD_BITS) + 1;
    // Clip in a width that holds the shifted sum and the 32-bit bounds.
    localparam integer CW  = SW > 33 ? SW : 33;
    localparam logic signed [CW-1:0] LO = CW'(OUT_MIN);
    localparam logic signed [CW-1:0] HI = CW'(OUT_MAX);

    // Stage 1: x and nf registered (the split is read per lane below).
    logic                 v1, v2, v3;
    logic [NF_W-1:0]      nf1;
    logic [PE*X_BITS-1:0] x1;
    always_ff @(posedge clk) begin
        if (en) begin
            nf1 <= in_nf;
            x1  <= in_x;
        end
    end

    for (genvar p = 0; p < PE; p++) begin : g_lane
        // Stage 1: the lane's split (with SEG_ADDRESS from the seg = 0 half; every word
        // holds it).
        logic [SPLIT_BITS-1:0] split_rd, split1;
        logic [AW-1:0]         split_addr;
        assign split_addr = AW'(in_nf);
        rom_field #(.WORD_BITS(PE*RW), .ADDR_BITS(AW), .LSB(p*RW + O_SPLIT),
                    .BITS(SPLIT_BITS), .FILE(RQ_FILE))
            u_split (.addr(split_addr), .data(split_rd));
        always_ff @(posedge clk) begin
            if (en)
                split1 <= split_rd;
        end

        // Stage 2: segment compare, then the segment's coefficients read into the mul and
        // add registers. (Signed variables, not casts of part-selects: Yosys 0.23 can
        // mis-extend those.)
        logic signed [X_BITS-1:0]     x;
        logic signed [SPLIT_BITS-1:0] split;
        logic                         seg;
        assign x     = x1[p*X_BITS +: X_BITS];
        assign split = split1;
        assign seg   = SCW'(x) >= SCW'(split);

        logic [CB-1:0] coef;
        if (SEG_ADDRESS != 0) begin : g_seg_address
            rom_field #(.WORD_BITS(PE*RW), .ADDR_BITS(AW), .LSB(p*RW),
                        .BITS(CB), .FILE(RQ_FILE))
                u_coef (.addr({seg, nf1}), .data(coef));
        end else begin : g_seg_select
            logic [2*CB-1:0] coef_rd;
            rom_field #(.WORD_BITS(PE*RW), .ADDR_BITS(AW), .LSB(p*RW),
                        .BITS(2 * CB), .FILE(RQ_FILE))
                u_coef (.addr(nf1), .data(coef_rd));
            assign coef = seg ? coef_rd[CB +: CB] : coef_rd[0 +: CB];
        end

        logic signed [X_BITS-1:0]   x2;
        logic signed [MUL_BITS-1:0] mul2;
        logic signed [ADD_BITS-1:0] add2;
        always_ff @(posedge clk) begin
            if (en) begin
                mul2 <= coef[O_MUL +: MUL_BITS];
                add2 <= coef[O_ADD +: ADD_BITS];
                x2   <= x;
            end
        end

        // Stage 3: multiply-add.
        logic signed [SW-1:0] sum3;
        always_ff @(posedge clk) begin
            if (en)
                sum3 <= SW'(mul2) * SW'(x2) + SW'(add2);
        end

        // Stage 4: floor shift, saturate. Where the range holds 0, a value out of range is
        // below it exactly when negative, so the bound to saturate to is picked by the sign
        // rather than a second compare.
        logic signed [CW-1:0] q;
        logic                 below, out_of_range;
        assign q            = CW'(sum3 >>> SHIFT);
        assign out_of_range = q < LO || q > HI;
        assign below        = LO <= 0 && HI >= 0 ? q[CW-1] : q < LO;

        logic [OUT_BITS-1:0] y;
        always_ff @(posedge clk) begin
            if (en)
                y <= out_of_range ? OUT_BITS'(below ? LO : HI) : OUT_BITS'(q);
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

// Multi-threshold output stage: PE lanes, out = BASE + #{l : (flip ? -x : x) >= T[l]}.
//
// Pipeline of LATENCY = 3 enabled cycles, all registers advance together on `en` (the
// caller's stall signal), `in_valid` travels with the data:
//   1: parameter ROM read at in_nf (synchronous, so large tables can map to BRAM), x registered
//   2: all LEVELS comparisons of every lane in parallel -> LEVELS-bit compare vector
//   3: count of the compare vector + BASE -> out_y
// Splitting compare and count keeps the carry chains and the popcount tree in separate cycles
// (LEVELS can be 255).
module threshold_unit #(
    parameter integer PE          = 1,
    parameter integer X_BITS      = 8,    // lane input: signed
    parameter integer NF          = 1,    // channel groups = ROM depth (CHANNELS / PE)
    parameter integer LEVELS      = 1,
    parameter integer T_BITS      = 8,
    parameter integer BASE        = 0,
    parameter integer OUT_BITS    = 1,
    parameter         THRESH_FILE = "",
    localparam integer NF_W       = NF > 1 ? $clog2(NF) : 1
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
    localparam integer LW = LEVELS * T_BITS + 1;            // one lane's field in a ROM word
    // Compare width: holds -x (X_BITS + 1) and every threshold.
    localparam integer CW = (X_BITS + 1 > T_BITS) ? X_BITS + 1 : T_BITS;
    localparam integer CNT_W = $clog2(LEVELS + 1);

    logic [PE*LW-1:0] rom [0:NF-1];
    generate
        if (THRESH_FILE != "") begin : g_init
            initial $readmemh(THRESH_FILE, rom);
        end
    endgenerate

    // Stage 1: ROM read, x registered.
    logic                 v1, v2;
    logic [PE*LW-1:0]     p1;
    logic [PE*X_BITS-1:0] x1;
    always_ff @(posedge clk) begin
        if (en) begin
            p1 <= rom[in_nf];
            x1 <= in_x;
        end
    end

    for (genvar p = 0; p < PE; p++) begin : g_lane
        // Stage 2: compare vector (a thermometer code, since T is nondecreasing).
        // (Signed variables, not casts of part-selects: Yosys 0.23 can mis-extend those.)
        logic signed [X_BITS-1:0] x;
        logic signed [CW-1:0]     xw, xs;
        logic [LEVELS-1:0]        ge;
        assign x  = x1[p*X_BITS +: X_BITS];
        assign xw = CW'(x);
        assign xs = p1[p*LW + LEVELS*T_BITS] ? -xw : xw;
        for (genvar l = 0; l < LEVELS; l++) begin : g_level
            logic signed [T_BITS-1:0] t;
            assign t = p1[p*LW + l*T_BITS +: T_BITS];
            always_ff @(posedge clk) begin
                if (en)
                    ge[l] <= xs >= CW'(t);
            end
        end

        // Stage 3: count + BASE (truncated to OUT_BITS, the output type holds it). A
        // channel's thresholds are sorted (flow/layers/thresholding.py), so ge is a
        // thermometer code, ones below its count n: bit j of n is set where n lies in
        // [a, a + 2^j) for an odd multiple a of 2^j, that is ge[a-1] && !ge[a+2^j-1]. Each bit
        // is an OR of such pairs, a few LUT levels, where an adder tree over LEVELS bits took
        // 14 levels and most of a 100 MHz cycle at LEVELS = 255.
        logic [CNT_W-1:0]         cnt;
        logic [(1 << CNT_W)-1:0]  th;        // ge, zero-extended: th[n] is 0 from n = LEVELS
        assign th = {{((1 << CNT_W) - LEVELS){1'b0}}, ge};
        always_comb begin
            cnt = '0;
            for (int j = 0; j < CNT_W; j++)
                for (int a = 1 << j; a < (1 << CNT_W); a += 1 << (j + 1))
                    cnt[j] = cnt[j] | (th[a - 1] & !th[a + (1 << j) - 1]);
        end
        logic [OUT_BITS-1:0] y;
        always_ff @(posedge clk) begin
            if (en)
                y <= OUT_BITS'(BASE + $signed(32'(cnt)));
        end
        assign out_y[p*OUT_BITS +: OUT_BITS] = y;
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            v1        <= 1'b0;
            v2        <= 1'b0;
            out_valid <= 1'b0;
        end else if (en) begin
            v1        <= in_valid;
            v2        <= v1;
            out_valid <= v2;
        end
    end
endmodule

// Sum of N operands (an MVTU lane's partial popcounts or products): a balanced tree of
// two-input adders, each level one bit wider than the one below it (capped at OUT_W, where
// the sum wraps: exact whenever the true sum fits, as the accumulator's is sized to).
//
// A chain or a carry-save tree of N operands (what Yosys makes of a written-out sum) is N
// carry chains or 2*log1.5(N) LUT levels long, and every adder in it OUT_W wide; this tree
// is log2(N) adders deep with each as narrow as its operands allow. It is registered after
// every second level from the leaves, STAGES times (the flow's rule, flow/layers/base.py
// sum_stages: the consumer's cycle takes at most one level more, the MVTU's accumulator adds
// it to its own). Latency: STAGES enabled cycles.
module adder_tree #(
    parameter int N      = 2,
    parameter int IN_W   = 8,      // bits per operand
    parameter int OUT_W  = 16,     // bits of the sum
    parameter int SIGNED = 0,      // operands and sum in two's complement
    parameter int STAGES = 0       // registered levels: 2, 4, ..., 2*STAGES
) (
    /* verilator lint_off UNUSEDSIGNAL */    // unused without registered stages
    input  logic              clk,
    input  logic              en,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic [N*IN_W-1:0] terms,
    output logic [OUT_W-1:0]  sum
);
    localparam int LEVELS = N > 1 ? $clog2(N) : 0;

    // (Verilog-2005 style functions: Yosys 0.23 reads no `int` return type nor `return`)
    function automatic integer width(input integer l);      // bits of a level-l sum
        width = IN_W + l < OUT_W ? IN_W + l : OUT_W;
    endfunction
    function automatic integer count(input integer l);      // sums at level l
        count = (N + (1 << l) - 1) >> l;
    endfunction

    if (2 * STAGES > LEVELS) begin : g_bad_stages
        $error("adder_tree: STAGES %0d needs at least %0d levels, N %0d has %0d",
               STAGES, 2 * STAGES, N, LEVELS);
    end

    // level l's sums in g_level[l].lv, sum j at [j*width(l) +: width(l)]; level 0: the operands
    for (genvar l = 0; l <= LEVELS; l++) begin : g_level
        localparam int WL = width(l);
        wire [count(l)*WL-1:0] lv;
        if (l == 0) begin : g_leaves
            for (genvar j = 0; j < N; j++) begin : g_leaf
                assign lv[j*WL +: WL] = terms[j*IN_W +: WL];
            end
        end else begin : g_adders
            localparam int WP  = width(l - 1);
            localparam int NP  = count(l - 1);
            localparam bit REG = l % 2 == 0 && l <= 2 * STAGES;
            for (genvar j = 0; j < count(l); j++) begin : g_add
                logic [WL-1:0] a, b, s;
                // operands extended by one bit, unless the level is capped at OUT_W
                logic [WP-1:0] xa;
                assign xa = g_level[l-1].lv[2*j*WP +: WP];
                if (WL > WP) begin : g_ext_a
                    assign a = {SIGNED != 0 && xa[WP-1], xa};
                end else begin : g_same_a
                    assign a = xa;
                end
                if (2 * j + 1 < NP) begin : g_pair
                    logic [WP-1:0] xb;
                    assign xb = g_level[l-1].lv[(2*j+1)*WP +: WP];
                    if (WL > WP) begin : g_ext_b
                        assign b = {SIGNED != 0 && xb[WP-1], xb};
                    end else begin : g_same_b
                        assign b = xb;
                    end
                end else begin : g_odd      // the odd one out passes up a level
                    assign b = '0;
                end
                if (REG) begin : g_reg
                    always_ff @(posedge clk) begin
                        if (en)
                            s <= a + b;
                    end
                end else begin : g_comb
                    assign s = a + b;
                end
                assign lv[j*WL +: WL] = s;
            end
        end
    end

    // the root, extended to OUT_W
    localparam int WR = width(LEVELS);
    logic [WR-1:0] root;
    assign root = g_level[LEVELS].lv;
    if (OUT_W > WR) begin : g_ext_root
        assign sum = {{(OUT_W - WR){SIGNED != 0 && root[WR-1]}}, root};
    end else begin : g_root
        assign sum = root;
    end
endmodule

// Integer matrix-vector unit (kind int_mvtu): acc[o] = sum_k w[o,k]*x[k] exactly, int8
// weights and IN_BITS inputs (IN_SIGNED), accumulated in ACC_BITS (signed), then the output
// stage (0 = acc itself sign-extended or truncated to OUT_BITS, 1 = thresholds,
// 2 = requantizer).
//
// Schedule (FINN's): a pixel is NF = COUT/PE output groups of SF = K/SIMD folds, one
// PE x SIMD step per cycle. In group 0 each step takes its SIMD input elements straight from
// the stream and also writes them into a one-pixel vector buffer; groups 1..NF-1 replay the
// buffer. So the input is read once per pixel, in step with its first output group, and the
// array never idles while input is available: (COUT/PE)*(K/SIMD) cycles per pixel.
//
// Flow control is a global stall: every register advances on en = !m_axis_tvalid ||
// m_axis_tready, so the output register is the only place a finished beat can wait and
// nothing is lost or duplicated. Pipeline (enabled cycles):
//   step issue (counters)  -> 1: weight ROM and vector buffer read (synchronous), input beat
//   registered -> 2: PE*SIMD products (DSP multipliers with their output register) ->
//   3: per-lane sum of the SIMD products into the accumulator (acc complete on the last
//   fold) -> output stage (0 cycles for OUT_STAGE 0: the accumulator is the output register;
//   3 for thresholds; 4 for the requantizer).
module int_mvtu #(
    parameter integer PE          = 1,
    parameter integer SIMD        = 1,
    parameter integer K           = 1,
    parameter integer COUT        = 1,
    parameter integer IN_BITS     = 8,
    parameter integer IN_SIGNED   = 0,
    parameter integer ACC_BITS    = 32,
    parameter         WEIGHT_FILE = "",
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
    parameter         RQ_FILE     = ""
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
    localparam integer SF     = K / SIMD;            // folds per output group
    localparam integer NF     = COUT / PE;           // output groups per pixel
    localparam integer SF_W   = SF > 1 ? $clog2(SF) : 1;
    localparam integer NF_W   = NF > 1 ? $clog2(NF) : 1;
    localparam integer WA_W   = NF * SF > 1 ? $clog2(NF * SF) : 1;
    localparam integer XW     = IN_BITS + 1;         // input element as a signed number
    localparam integer PRW    = XW + 8;              // exact product with an int8 weight
    localparam integer X_BITS = ACC_BITS;

    // ---- input read-ahead ---------------------------------------------------------------------
    // Groups 1..NF-1 replay the buffered vector and read no input, so a one-pixel FIFO in
    // front lets the producer deliver the next pixel meanwhile: group 0 then reads it at one
    // beat per cycle, and a pixel costs max(producer, NF*SF) cycles instead of their sum.
    logic [SIMD*IN_BITS-1:0] in_tdata;
    logic in_tvalid, in_tready;
    generate
        if (NF > 1) begin : g_read_ahead
            axis_fifo #(.WIDTH(SIMD*IN_BITS), .DEPTH(SF > 2 ? SF : 2)) u_read_ahead (
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

    logic en;
    assign en = !m_axis_tvalid || m_axis_tready;

    // ---- step issue -------------------------------------------------------------------------
    logic [SF_W-1:0] sf;
    logic [NF_W-1:0] nf;
    logic [WA_W-1:0] waddr;     // nf*SF + sf
    logic            from_in;   // group 0: the vector comes from the stream
    logic            step;
    assign from_in       = nf == '0;
    assign step          = en && (!from_in || in_tvalid);
    assign in_tready     = rst_n && en && from_in;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            sf    <= '0;
            nf    <= '0;
            waddr <= '0;
        end else if (step) begin
            if (sf == SF_W'(SF - 1)) begin
                sf <= '0;
                nf <= (nf == NF_W'(NF - 1)) ? '0 : nf + 1'b1;
            end else begin
                sf <= sf + 1'b1;
            end
            waddr <= (waddr == WA_W'(NF * SF - 1)) ? '0 : waddr + 1'b1;
        end
    end

    // ---- stage 1: memories ------------------------------------------------------------------
    logic [PE*SIMD*8-1:0] wrom [0:NF*SF-1];
    generate
        if (WEIGHT_FILE != "") begin : g_init
            initial $readmemh(WEIGHT_FILE, wrom);
        end
    endgenerate

    logic [SIMD*IN_BITS-1:0] vbuf [0:SF-1];    // the current pixel's input vector
    always_ff @(posedge clk) begin
        if (step && from_in)
            vbuf[sf] <= in_tdata;
    end

    logic               v1, first1, last1, from_in1;
    logic [NF_W-1:0]    nf1;
    logic [PE*SIMD*8-1:0]    w1;
    logic [SIMD*IN_BITS-1:0] in1, buf1;
    always_ff @(posedge clk) begin
        if (en) begin
            w1       <= wrom[waddr];
            buf1     <= vbuf[sf];
            in1      <= in_tdata;
            first1   <= sf == '0;
            last1    <= sf == SF_W'(SF - 1);
            from_in1 <= from_in;
            nf1      <= nf;
        end
    end

    // ---- stage 2: products ------------------------------------------------------------------
    logic [SIMD*IN_BITS-1:0] x1;
    assign x1 = from_in1 ? in1 : buf1;

    logic            v2, first2, last2;
    logic [NF_W-1:0] nf2;
    always_ff @(posedge clk) begin
        if (en) begin
            first2 <= first1;
            last2  <= last1;
            nf2    <= nf1;
        end
    end

    // Input elements as signed XW-bit numbers (zero- or sign-extended by IN_SIGNED). Packed
    // vectors rather than arrays throughout, so Yosys has no memories to dissolve.
    logic [SIMD*XW-1:0] xe;
    for (genvar i = 0; i < SIMD; i++) begin : g_elem
        logic [IN_BITS-1:0] e;
        assign e              = x1[i*IN_BITS +: IN_BITS];
        assign xe[i*XW +: XW] = {IN_SIGNED != 0 && e[IN_BITS-1], e};
    end

    // ---- stage 3: accumulate over the folds -------------------------------------------------
    logic                 v3;          // acc of group nf3 is complete in acc3
    logic [NF_W-1:0]      nf3;
    logic [PE*X_BITS-1:0] acc3;
    always_ff @(posedge clk) begin
        if (en && v2)
            nf3 <= nf2;
    end

    for (genvar p = 0; p < PE; p++) begin : g_lane
        // Stage 2: the SIMD products of the lane (one registered multiplier each), then each
        // sign-extended (or truncated) to ACC_BITS. Plain signed variables rather than casts
        // of part-selects: Yosys 0.23 mis-extends $signed(v[i*W +: W]) inside a sum.
        logic [SIMD*ACC_BITS-1:0] terms;
        for (genvar i = 0; i < SIMD; i++) begin : g_mul
            logic signed [7:0]     w;
            logic signed [XW-1:0]  x;
            logic signed [PRW-1:0] prod;
            assign w = w1[(p*SIMD + i)*8 +: 8];
            assign x = xe[i*XW +: XW];
            always_ff @(posedge clk) begin
                if (en)
                    prod <= PRW'(w) * PRW'(x);
            end
            assign terms[i*ACC_BITS +: ACC_BITS] = ACC_BITS'(prod);
        end

        // Stage 3: their sum into the accumulator. Two's complement wraps, so the result is
        // exact whenever it fits in ACC_BITS (the generator sizes ACC_BITS for that).
        logic [ACC_BITS-1:0] sum;
        always_comb begin
            sum = '0;
            for (int i = 0; i < SIMD; i++)
                sum = sum + terms[i*ACC_BITS +: ACC_BITS];
        end

        logic [ACC_BITS-1:0] acc;
        always_ff @(posedge clk) begin
            if (en && v2)
                acc <= (first2 ? '0 : acc) + sum;
        end
        assign acc3[p*X_BITS +: X_BITS] = acc;
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            v1 <= 1'b0;
            v2 <= 1'b0;
            v3 <= 1'b0;
        end else if (en) begin
            v1 <= step;
            v2 <= v1;
            v3 <= v2 && last2;
        end
    end

    // ---- output stage -----------------------------------------------------------------------
    mvtu_output_stage #(
        .PE(PE), .X_BITS(X_BITS), .NF(NF), .OUT_STAGE(OUT_STAGE), .OUT_BITS(OUT_BITS),
        .LEVELS(LEVELS), .T_BITS(T_BITS), .BASE(BASE), .THRESH_FILE(THRESH_FILE),
        .MUL_BITS(MUL_BITS), .ADD_BITS(ADD_BITS), .SPLIT_BITS(SPLIT_BITS), .SHIFT(SHIFT),
        .OUT_MIN(OUT_MIN), .OUT_MAX(OUT_MAX), .RQ_FILE(RQ_FILE)
    ) u_out (
        .clk(clk), .rst_n(rst_n), .en(en), .in_valid(v3), .in_nf(nf3), .in_x(acc3),
        .out_valid(m_axis_tvalid), .out_y(m_axis_tdata)
    );
endmodule

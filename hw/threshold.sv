// Multi-threshold layer (kind threshold): out[c] = BASE + #{l : s_c*x[c] >= T[c,l]} per
// element, PE channels per beat, channel group nf = 0..CHANNELS/PE-1 of each pixel addressing
// the thresholds (the arithmetic is threshold_unit's).
//
// Flow control is a global stall: the whole pipeline advances on en = !m_axis_tvalid ||
// m_axis_tready, so the output register is the only place a finished beat can wait.
// Latency: 3 cycles (threshold_unit), throughput one beat per cycle.
module threshold #(
    parameter integer PE          = 1,
    parameter integer IN_BITS     = 8,
    parameter integer IN_SIGNED   = 0,
    parameter integer CHANNELS    = 1,
    parameter integer OUT_BITS    = 1,
    parameter integer LEVELS      = 1,
    parameter integer T_BITS      = 8,
    parameter integer BASE        = 0,
    parameter         THRESH_FILE = ""
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic [PE*IN_BITS-1:0]  s_axis_tdata,
    input  logic                   s_axis_tvalid,
    output logic                   s_axis_tready,
    output logic [PE*OUT_BITS-1:0] m_axis_tdata,
    output logic                   m_axis_tvalid,
    input  logic                   m_axis_tready
);
    localparam integer NF     = CHANNELS / PE;
    localparam integer NF_W   = NF > 1 ? $clog2(NF) : 1;
    localparam integer X_BITS = IN_BITS + 1;    // either input type as a signed number

    logic en;
    assign en            = !m_axis_tvalid || m_axis_tready;
    assign s_axis_tready = rst_n && en;

    // Channel group of the current input beat.
    logic [NF_W-1:0] nf;
    always_ff @(posedge clk) begin
        if (!rst_n)
            nf <= '0;
        else if (s_axis_tvalid && s_axis_tready)
            nf <= (nf == NF_W'(NF - 1)) ? '0 : nf + 1'b1;
    end

    logic [PE*X_BITS-1:0] x;
    for (genvar p = 0; p < PE; p++) begin : g_lane
        logic [IN_BITS-1:0] e;
        assign e                      = s_axis_tdata[p*IN_BITS +: IN_BITS];
        assign x[p*X_BITS +: X_BITS] = {IN_SIGNED != 0 && e[IN_BITS-1], e};
    end

    threshold_unit #(
        .PE(PE), .X_BITS(X_BITS), .NF(NF), .LEVELS(LEVELS), .T_BITS(T_BITS), .BASE(BASE),
        .OUT_BITS(OUT_BITS), .THRESH_FILE(THRESH_FILE)
    ) u_thresh (
        .clk(clk), .rst_n(rst_n), .en(en), .in_valid(s_axis_tvalid), .in_nf(nf), .in_x(x),
        .out_valid(m_axis_tvalid), .out_y(m_axis_tdata)
    );
endmodule

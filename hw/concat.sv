// Channel concatenation: per pixel, BEATS[0] beats of input 0, then BEATS[1] beats of input 1,
// ... (BEATS packs one 16-bit count per input, input 0 in the low bits; every count >= 1).
// Only the selected input is ready; the output goes through a skid buffer (latency 1).
module concat #(
    parameter integer            WIDTH = 8,
    parameter integer            N_IN  = 2,
    parameter [16*N_IN-1:0]      BEATS = {N_IN{16'd1}}
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic [N_IN*WIDTH-1:0] s_axis_tdata,
    input  logic [N_IN-1:0]       s_axis_tvalid,
    output logic [N_IN-1:0]       s_axis_tready,
    output logic [WIDTH-1:0]      m_axis_tdata,
    output logic                  m_axis_tvalid,
    input  logic                  m_axis_tready
);
    localparam integer SW = (N_IN > 1) ? $clog2(N_IN) : 1;

    logic [SW-1:0] sel;                         // input being copied
    logic [15:0]   beat;                        // beat of that input within the pixel
    logic          out_ready;

    wire last_beat = beat == BEATS[sel*16 +: 16] - 16'd1;
    wire fire      = s_axis_tvalid[sel] && out_ready;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            sel  <= '0;
            beat <= '0;
        end else if (fire) begin
            beat <= last_beat ? 16'd0 : beat + 16'd1;
            if (last_beat) sel <= (sel == SW'(N_IN - 1)) ? '0 : sel + 1'b1;
        end
    end

    always_comb begin
        s_axis_tready      = '0;
        s_axis_tready[sel] = out_ready;
    end

    axis_register_slice #(.WIDTH(WIDTH)) u_out (
        .clk          (clk),
        .rst_n        (rst_n),
        .s_axis_tdata (s_axis_tdata[sel*WIDTH +: WIDTH]),
        .s_axis_tvalid(s_axis_tvalid[sel]),
        .s_axis_tready(out_ready),
        .m_axis_tdata (m_axis_tdata),
        .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready)
    );
endmodule

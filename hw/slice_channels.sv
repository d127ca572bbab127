// Keeps beats [START_BEAT, STOP_BEAT) of every IN_BEATS-beat pixel and drops the rest.
// Dropped beats are consumed at the same rate as kept ones (tready is the output skid
// buffer's registered ready in both cases); latency 1.
module slice_channels #(
    parameter integer WIDTH      = 8,
    parameter integer IN_BEATS   = 4,
    parameter integer START_BEAT = 0,
    parameter integer STOP_BEAT  = 2
) (
    input  logic             clk,
    input  logic             rst_n,
    input  logic [WIDTH-1:0] s_axis_tdata,
    input  logic             s_axis_tvalid,
    output logic             s_axis_tready,
    output logic [WIDTH-1:0] m_axis_tdata,
    output logic             m_axis_tvalid,
    input  logic             m_axis_tready
);
    localparam integer BW = (IN_BEATS > 1) ? $clog2(IN_BEATS) : 1;

    logic [BW-1:0] beat;                        // beat index within the pixel
    logic          out_ready;

    // Signed compare so that START_BEAT = 0 is not flagged as an always-true unsigned test.
    wire signed [31:0] beat_s = 32'(beat);
    wire keep = (beat_s >= START_BEAT) && (beat_s < STOP_BEAT);
    wire fire = s_axis_tvalid && out_ready;

    always_ff @(posedge clk) begin
        if (!rst_n)    beat <= '0;
        else if (fire) beat <= (beat == BW'(IN_BEATS - 1)) ? '0 : beat + 1'b1;
    end

    axis_register_slice #(.WIDTH(WIDTH)) u_out (
        .clk          (clk),
        .rst_n        (rst_n),
        .s_axis_tdata (s_axis_tdata),
        .s_axis_tvalid(s_axis_tvalid && keep),
        .s_axis_tready(out_ready),
        .m_axis_tdata (m_axis_tdata),
        .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready)
    );
    assign s_axis_tready = out_ready;
endmodule

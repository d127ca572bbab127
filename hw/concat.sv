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
    // The beat counter is as wide as the largest count needs (16 bits cost 13 more LUTs in
    // Yosys on hg-hpm-z2's concats, of 24 to 48 beats).
    function automatic integer max_beats();
        max_beats = 1;
        for (int i = 0; i < N_IN; i++)
            if (32'(BEATS[16*i +: 16]) > max_beats) max_beats = 32'(BEATS[16*i +: 16]);
    endfunction
    localparam integer BW = max_beats() > 1 ? $clog2(max_beats()) : 1;

    logic [SW-1:0] sel;                         // input being copied
    logic [BW-1:0] beat;                        // beat of that input within the pixel
    logic          out_ready;
    logic          last_beat, in_valid;
    logic [WIDTH-1:0] in_data;

    // The selected input, decoded with one compare of `sel` per input (an indexed part-select
    // `x[sel*W +: W]` makes Yosys build 32-bit index arithmetic: 8 CARRY4s on the tready path
    // in hg-hpm-tiny, 5.7 ns of a 13 ns path across modules).
    always_comb begin
        last_beat     = 1'b0;
        in_valid      = 1'b0;
        in_data       = s_axis_tdata[WIDTH-1:0];
        s_axis_tready = '0;
        for (int i = 0; i < N_IN; i++) begin
            if (sel == SW'(i)) begin
                last_beat        = beat == BW'(BEATS[16*i +: 16] - 16'd1);
                in_valid         = s_axis_tvalid[i];
                in_data          = s_axis_tdata[i*WIDTH +: WIDTH];
                s_axis_tready[i] = out_ready;
            end
        end
    end

    wire fire = in_valid && out_ready;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            sel  <= '0;
            beat <= '0;
        end else if (fire) begin
            beat <= last_beat ? '0 : beat + 1'b1;
            if (last_beat) sel <= (sel == SW'(N_IN - 1)) ? '0 : sel + 1'b1;
        end
    end

    axis_register_slice #(.WIDTH(WIDTH)) u_out (
        .clk          (clk),
        .rst_n        (rst_n),
        .s_axis_tdata (in_data),
        .s_axis_tvalid(in_valid),
        .s_axis_tready(out_ready),
        .m_axis_tdata (m_axis_tdata),
        .m_axis_tvalid(m_axis_tvalid),
        .m_axis_tready(m_axis_tready)
    );
endmodule

// Fan-out: every output gets every input beat. The input goes through a skid buffer (which
// registers s_axis_tready); each output then has a "taken" flag, so the outputs can accept the
// current beat on different cycles, and the beat is released once all of them have it.
module duplicate #(
    parameter integer WIDTH = 8,
    parameter integer N_OUT = 2
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic [WIDTH-1:0]       s_axis_tdata,
    input  logic                   s_axis_tvalid,
    output logic                   s_axis_tready,
    output logic [N_OUT*WIDTH-1:0] m_axis_tdata,
    output logic [N_OUT-1:0]       m_axis_tvalid,
    input  logic [N_OUT-1:0]       m_axis_tready
);
    logic [WIDTH-1:0] data;
    logic             valid;
    logic [N_OUT-1:0] taken;                    // outputs that already have the current beat

    // Every output has the beat after this cycle: release it from the skid buffer.
    wire release_beat = &(taken | m_axis_tready);

    axis_register_slice #(.WIDTH(WIDTH)) u_in (
        .clk          (clk),
        .rst_n        (rst_n),
        .s_axis_tdata (s_axis_tdata),
        .s_axis_tvalid(s_axis_tvalid),
        .s_axis_tready(s_axis_tready),
        .m_axis_tdata (data),
        .m_axis_tvalid(valid),
        .m_axis_tready(release_beat)
    );

    always_ff @(posedge clk) begin
        if (!rst_n)                    taken <= '0;
        else if (valid && release_beat) taken <= '0;
        else if (valid)                taken <= taken | m_axis_tready;
    end

    assign m_axis_tdata  = {N_OUT{data}};
    assign m_axis_tvalid = {N_OUT{valid}} & ~taken;
endmodule

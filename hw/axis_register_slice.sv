// 2-entry skid buffer: registers tdata/tvalid towards the consumer and tready towards the
// producer, at one beat per cycle. Holds at most 2 beats; latency 1 cycle.
// Shared helper: the other stream modules put one of these on their output.
module axis_register_slice #(
    parameter integer WIDTH = 8
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
    logic [WIDTH-1:0] out_data, skid_data;
    logic             out_valid, skid_valid;
    logic             in_ready;             // registered !skid_valid, low in reset
    logic             out_valid_d, skid_valid_d;

    // The output register can take a word when it is empty or its word leaves now.
    wire out_free = !out_valid || m_axis_tready;
    wire push     = s_axis_tvalid && in_ready;

    always_comb begin
        out_valid_d  = out_valid;
        skid_valid_d = skid_valid;
        if (out_free) begin
            // in_ready == !skid_valid, so at most one of skid and input supplies a word
            out_valid_d  = skid_valid || push;
            skid_valid_d = 1'b0;
        end else if (push) begin
            skid_valid_d = 1'b1;                // output stalled: park the beat in the skid
        end
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            out_valid  <= 1'b0;
            skid_valid <= 1'b0;
            in_ready   <= 1'b0;
        end else begin
            out_valid  <= out_valid_d;
            skid_valid <= skid_valid_d;
            in_ready   <= !skid_valid_d;
        end
    end

    // Data registers need no reset: they are only read while the matching valid is set.
    always_ff @(posedge clk) begin
        if (out_free) out_data <= skid_valid ? skid_data : s_axis_tdata;
        if (in_ready) skid_data <= s_axis_tdata;    // only kept if the output is stalled
    end

    assign s_axis_tready = in_ready;
    assign m_axis_tdata  = out_data;
    assign m_axis_tvalid = out_valid;
endmodule

// Small output queue for a module whose output beats come out of a one-cycle memory read.
// Such a module cannot stall a read already in flight, so it issues a read only when the
// queue will have room for it (`free` greater than the reads in flight). The queue then
// never has to refuse a push, m_axis_tvalid is a register (gated by reset), and nothing
// looks at m_axis_tready combinationally, so the producer's s_tready has no path from it.
// DEPTH = 3 sustains one beat per cycle with one read in flight.
// Shared helper: maxpool, upsample and sliding_window put one of these on their output.
module axis_output_queue #(
    parameter int WIDTH = 8,
    parameter int DEPTH = 3                 // entries, >= 2
) (
    input  logic                       clk,
    input  logic                       rst_n,
    input  logic                       push,        // caller guarantees free != 0
    input  logic [WIDTH-1:0]           push_data,
    output logic [$clog2(DEPTH+1)-1:0] free,        // entries not holding a beat
    output logic [WIDTH-1:0]           m_axis_tdata,
    output logic                       m_axis_tvalid,
    input  logic                       m_axis_tready
);
    localparam int AW = $clog2(DEPTH);
    localparam int CW = $clog2(DEPTH + 1);

    logic [WIDTH-1:0] q [0:DEPTH-1];
    logic [AW-1:0]    head, tail;
    logic [CW-1:0]    count;
    logic             pop;

    assign pop = m_axis_tvalid && m_axis_tready;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            head <= '0; tail <= '0; count <= '0;
        end else begin
            if (push) tail <= (tail == AW'(DEPTH - 1)) ? '0 : tail + 1'b1;
            if (pop)  head <= (head == AW'(DEPTH - 1)) ? '0 : head + 1'b1;
            count <= count + CW'(push) - CW'(pop);
        end
    end

    // Data registers need no reset: an entry is only read while count says it holds a beat.
    always_ff @(posedge clk) begin
        if (push) q[tail] <= push_data;
    end

    assign free          = CW'(DEPTH) - count;
    assign m_axis_tdata  = q[head];
    assign m_axis_tvalid = rst_n && count != 0;
endmodule

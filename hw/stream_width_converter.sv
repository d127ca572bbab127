// Regroups a stream of ELEM_BITS-bit elements from IN_ELEMS to OUT_ELEMS per beat, element
// order kept (element 0 in the low bits). One of IN_ELEMS, OUT_ELEMS divides the other.
// Gather (OUT = R*IN): R input beats make one output beat. Split (IN = R*OUT): one input beat
// makes R output beats. Both run at one input or output beat per cycle, whichever side is
// wider being the slower one, and end in a skid buffer (latency 1); IN == OUT is just that.
module stream_width_converter #(
    parameter integer ELEM_BITS = 1,
    parameter integer IN_ELEMS  = 8,
    parameter integer OUT_ELEMS = 32
) (
    input  logic                           clk,
    input  logic                           rst_n,
    input  logic [IN_ELEMS*ELEM_BITS-1:0]  s_axis_tdata,
    input  logic                           s_axis_tvalid,
    output logic                           s_axis_tready,
    output logic [OUT_ELEMS*ELEM_BITS-1:0] m_axis_tdata,
    output logic                           m_axis_tvalid,
    input  logic                           m_axis_tready
);
    localparam integer IN_W  = IN_ELEMS * ELEM_BITS;
    localparam integer OUT_W = OUT_ELEMS * ELEM_BITS;

    generate
        if (IN_ELEMS == OUT_ELEMS) begin : g_pass
            // Not a wire, so that reset still holds tready low and the timing stays registered
            // (the generator only inserts a converter where the widths differ).
            axis_register_slice #(.WIDTH(OUT_W)) u_out (
                .clk          (clk),
                .rst_n        (rst_n),
                .s_axis_tdata (s_axis_tdata),
                .s_axis_tvalid(s_axis_tvalid),
                .s_axis_tready(s_axis_tready),
                .m_axis_tdata (m_axis_tdata),
                .m_axis_tvalid(m_axis_tvalid),
                .m_axis_tready(m_axis_tready)
            );

        end else if (OUT_ELEMS > IN_ELEMS) begin : g_gather
            localparam integer R  = OUT_ELEMS / IN_ELEMS;
            localparam integer CW = $clog2(R);

            logic [(R-1)*IN_W-1:0] acc;         // beats 0 .. R-2 of the word being gathered
            logic [CW-1:0]         cnt;         // index of the next input beat in the word
            logic                  out_ready;

            wire last = cnt == CW'(R - 1);
            // s_axis_tready is the skid buffer's registered ready (gathering pauses while the
            // output is blocked); the last beat goes straight in with the R-1 gathered ones.
            wire fire = s_axis_tvalid && out_ready;

            // One load enable per slot: plain clock-enabled flops, no shifter.
            for (genvar k = 0; k < R - 1; k++) begin : g_slot
                always_ff @(posedge clk) begin
                    if (fire && cnt == CW'(k)) acc[k*IN_W +: IN_W] <= s_axis_tdata;
                end
            end

            always_ff @(posedge clk) begin
                if (!rst_n)    cnt <= '0;
                else if (fire) cnt <= last ? '0 : cnt + 1'b1;
            end

            axis_register_slice #(.WIDTH(OUT_W)) u_out (
                .clk          (clk),
                .rst_n        (rst_n),
                .s_axis_tdata ({s_axis_tdata, acc}),
                .s_axis_tvalid(s_axis_tvalid && last),
                .s_axis_tready(out_ready),
                .m_axis_tdata (m_axis_tdata),
                .m_axis_tvalid(m_axis_tvalid),
                .m_axis_tready(m_axis_tready)
            );
            assign s_axis_tready = out_ready;

        end else begin : g_split
            localparam integer R  = IN_ELEMS / OUT_ELEMS;
            localparam integer CW = $clog2(R);

            logic [IN_W-1:0] word;              // input beat being split
            logic            full;
            logic [CW-1:0]   cnt;               // index of the piece being emitted
            logic            out_ready;

            wire last = cnt == CW'(R - 1);
            wire step = full && out_ready;
            // Take the next input beat when empty or while the last piece leaves.
            assign s_axis_tready = out_ready && (!full || last);
            wire load = s_axis_tvalid && s_axis_tready;

            // Load-only register and an R:1 piece mux (cheaper than shifting the word down).
            always_ff @(posedge clk) begin
                if (load) word <= s_axis_tdata;
            end

            always_ff @(posedge clk) begin
                if (!rst_n) begin
                    full <= 1'b0;
                    cnt  <= '0;
                end else begin
                    if (load)              full <= 1'b1;
                    else if (step && last) full <= 1'b0;
                    if (step) cnt <= last ? '0 : cnt + 1'b1;
                end
            end

            axis_register_slice #(.WIDTH(OUT_W)) u_out (
                .clk          (clk),
                .rst_n        (rst_n),
                .s_axis_tdata (word[cnt*OUT_W +: OUT_W]),
                .s_axis_tvalid(full),
                .s_axis_tready(out_ready),
                .m_axis_tdata (m_axis_tdata),
                .m_axis_tvalid(m_axis_tvalid),
                .m_axis_tready(m_axis_tready)
            );
        end
    endgenerate
endmodule

// Regroups a stream of ELEM_BITS-bit elements from IN_ELEMS to OUT_ELEMS per beat, element
// order kept (element 0 in the low bits); any two counts (a frame is whole beats on both sides).
// Gather (OUT = R*IN): R input beats make one output beat. Split (IN = R*OUT): one input beat
// makes R output beats. Both run at one input or output beat per cycle, whichever side is
// wider being the slower one, and end in a skid buffer (latency 1); IN == OUT is just that.
// Otherwise a gearbox: a shift register of elements that takes IN_ELEMS and gives OUT_ELEMS per
// cycle, so it too is limited only by the slower side (latency 2).
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

        end else if (OUT_ELEMS % IN_ELEMS == 0) begin : g_gather
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

        end else if (IN_ELEMS % OUT_ELEMS == 0) begin : g_split
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

        end else begin : g_gearbox
            // gb holds `cnt` elements in stream order, the oldest at the bottom. An emission
            // moves the bottom OUT_ELEMS into the output register and shifts the rest down (a
            // fixed shift: wiring); an accepted beat lands right above what stays.
            localparam integer MIN_E = IN_ELEMS < OUT_ELEMS ? IN_ELEMS : OUT_ELEMS;
            // s_axis_tready comes from the registered count alone (no m_axis_tready ->
            // s_axis_tready path), so a beat is taken only if it fits even without this
            // cycle's emission. MIN_E extra elements keep that at full rate: when IN < OUT the
            // count peaks at OUT-1+IN and must still take a beat; when IN > OUT a beat must be
            // taken whenever fewer than 2*OUT are held, or the next cycle runs dry.
            localparam integer DEPTH = IN_ELEMS + OUT_ELEMS + MIN_E - 1;
            localparam integer GB_W  = DEPTH * ELEM_BITS;
            localparam integer CW    = $clog2(DEPTH + 1);
            localparam integer SW    = $clog2(DEPTH - IN_ELEMS + 1);   // landing slot bits

            logic [GB_W-1:0]  gb, gb_d;
            logic [GB_W-1:0]  ins, msk;         // the input beat and its slots, at `kept`
            logic [CW-1:0]    cnt, cnt_d;
            logic [OUT_W-1:0] out_data;
            logic             out_valid;
            logic             in_ready;          // registered: cnt <= DEPTH - IN_ELEMS

            wire          emit   = (!out_valid || m_axis_tready) && cnt >= CW'(OUT_ELEMS);
            wire          accept = s_axis_tvalid && in_ready;
            wire [CW-1:0] kept   = emit ? cnt - CW'(OUT_ELEMS) : cnt;

            always_comb begin
                // Element-granular barrel shift in constant stages (only needed when the beat
                // is accepted, and then kept <= DEPTH - IN_ELEMS fits in SW bits).
                ins = GB_W'(s_axis_tdata);
                msk = GB_W'({IN_W{1'b1}});
                for (int s = 0; s < SW; s++) begin
                    if (kept[s]) begin
                        ins = ins << (ELEM_BITS << s);
                        msk = msk << (ELEM_BITS << s);
                    end
                end
                gb_d = emit ? gb >> OUT_W : gb;
                if (accept) gb_d = (gb_d & ~msk) | (ins & msk);
                cnt_d = accept ? kept + CW'(IN_ELEMS) : kept;
            end

            always_ff @(posedge clk) begin
                if (!rst_n) begin
                    cnt       <= '0;
                    in_ready  <= 1'b0;
                    out_valid <= 1'b0;
                end else begin
                    cnt      <= cnt_d;
                    in_ready <= cnt_d <= CW'(DEPTH - IN_ELEMS);
                    if (emit)               out_valid <= 1'b1;
                    else if (m_axis_tready) out_valid <= 1'b0;
                end
            end

            // Data registers need no reset: only the first `cnt` elements are ever read.
            always_ff @(posedge clk) begin
                gb <= gb_d;
                if (emit) out_data <= gb[OUT_W-1:0];
            end

            assign s_axis_tready = in_ready;
            assign m_axis_tdata  = out_data;
            assign m_axis_tvalid = out_valid;
        end
    endgenerate
endmodule

// Simple dual-port memory: one write port, one read port with a synchronous, enabled read into
// a register (no reset). A read of the word being written in the same cycle returns the word
// before the write. This is the one memory shape that axis_fifo, maxpool and upsample use, and
// every Xilinx RAM takes it (LUT-RAM plus flip-flops, block RAM, UltraRAM).
//
// Which RAM it is decided here, once: UltraRAM where ULTRA != 0 (the folding's choice,
// node attribute ram_style "ultra"), else LUT-RAM up to LUTRAM_MAX_BITS bits and block RAM
// above. That is the flow estimate's rule (flow/layers/base.py, LUTRAM_MAX_BITS). It is written
// out as ram_style so that Yosys and Vivado map the memory the way the folding counted it:
// Yosys 0.23 put a 384 x 8 buffer in a RAMB18 that the estimate counted in LUTs.
module sdp_ram #(
    parameter int WIDTH           = 8,
    parameter int DEPTH           = 16,     // words, >= 2
    parameter int LUTRAM_MAX_BITS = 4096,
    parameter int ULTRA           = 0
) (
    input  logic                     clk,
    input  logic                     wr_en,
    input  logic [$clog2(DEPTH)-1:0] wr_addr,
    input  logic [WIDTH-1:0]         wr_data,
    input  logic                     rd_en,
    input  logic [$clog2(DEPTH)-1:0] rd_addr,
    output logic [WIDTH-1:0]         rd_data
);
    // read by the synthesis attribute alone, which Verilator does not look at
    /* verilator lint_off UNUSEDPARAM */
    localparam RAM_STYLE = ULTRA != 0                       ? "ultra"
                         : WIDTH * DEPTH <= LUTRAM_MAX_BITS ? "distributed"
                         :                                    "block";
    /* verilator lint_on UNUSEDPARAM */

    (* ram_style = RAM_STYLE *)
    logic [WIDTH-1:0] mem [0:DEPTH-1];
    always_ff @(posedge clk) begin
        if (wr_en) mem[wr_addr] <= wr_data;
        if (rd_en) rd_data      <= mem[rd_addr];
    end
endmodule

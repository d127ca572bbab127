// A read-only table loaded from a $readmemh file (words of WORD_BITS, 2**ADDR_BITS of them),
// read asynchronously: `data` is the BITS-bit field at bit LSB of the word at `addr`.
//
// It is a module of its own so that the register its caller puts after the read stays the
// caller's: Yosys 0.23 (synth_xilinx, hierarchy kept) merges a register that directly
// follows a memory read into the memory, after which it can no longer become a DSP input
// register, and it then maps the bits that are constant in part of the table to synchronous
// resets with a LUT each. A table this module holds becomes logic: a LUT6 per field bit
// for up to 64 words.
module rom_field #(
    parameter integer WORD_BITS = 1,
    parameter integer ADDR_BITS = 1,
    parameter integer LSB       = 0,
    parameter integer BITS      = 1,
    parameter         FILE      = ""
) (
    input  logic [ADDR_BITS-1:0] addr,
    output logic [BITS-1:0]      data
);
    logic [WORD_BITS-1:0] rom [0:(1 << ADDR_BITS)-1];
    generate
        if (FILE != "") begin : g_init
            initial $readmemh(FILE, rom);
        end
    endgenerate
    assign data = rom[addr][LSB +: BITS];
endmodule

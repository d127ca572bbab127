// C simulation helpers of the generated testbench (csim_tb.cpp, written by flow/backends/hlsgen.py):
// frames of AXI-Stream words from and to hex text files, one word per line, with the checks
// a DMA would make: every input word consumed, exactly WORDS output words per frame, TLAST on
// the last one only. Any violation prints the port and frame and exits with status 2.
#ifndef BINHG_CSIM_IO_HPP
#define BINHG_CSIM_IO_HPP

#ifndef __SYNTHESIS__
#include "axis_ports.hpp"

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace binhg {

[[noreturn]] inline void csim_fail(const std::string &port, size_t frame, const std::string &what) {
    std::cerr << "ERROR: port " << port << ", frame " << frame << ": " << what << "\n";
    std::exit(2);
}

// All words of a hex file; the number of frames it holds at `words` per frame.
inline std::vector<std::string> read_words(const char *path, const std::string &port, int words,
                                           size_t &frames) {
    std::ifstream f(path);
    if (!f) csim_fail(port, 0, std::string("cannot read ") + path);
    std::vector<std::string> v;
    for (std::string line; std::getline(f, line);)
        if (!line.empty()) v.push_back(line);
    if (v.size() % words)
        csim_fail(port, v.size() / words, std::to_string(v.size()) +
                  " words are not whole frames of " + std::to_string(words));
    frames = v.size() / words;
    return v;
}

template <int TW>
void feed_frame(hls::stream<ap_axiu<TW, 0, 0, 0>> &s, const std::vector<std::string> &v,
                size_t frame, int words) {
    for (int w = 0; w < words; w++) {
        ap_axiu<TW, 0, 0, 0> x;
        x.data = ap_uint<TW>(v[frame * words + w].c_str(), 16);
        x.keep = -1;
        x.strb = -1;
        x.last = (w == words - 1);
        s.write(x);
    }
}

template <int TW>
void check_consumed(hls::stream<ap_axiu<TW, 0, 0, 0>> &s, const std::string &port, size_t frame) {
    if (!s.empty()) csim_fail(port, frame, "input words left unread");
}

template <int TW>
void drain_frame(hls::stream<ap_axiu<TW, 0, 0, 0>> &m, std::ofstream &out,
                 const std::string &port, size_t frame, int words) {
    for (int w = 0; w < words; w++) {
        if (m.empty())
            csim_fail(port, frame, std::to_string(w) + " output words, expected " +
                      std::to_string(words));
        ap_axiu<TW, 0, 0, 0> y = m.read();
        if (int(y.last) != (w == words - 1))
            csim_fail(port, frame, "TLAST " + std::to_string(int(y.last)) + " on word " +
                      std::to_string(w) + " of " + std::to_string(words));
        out << y.data.to_string(16, false) << "\n";
    }
    if (!m.empty()) csim_fail(port, frame, "more than " + std::to_string(words) + " output words");
}

}  // namespace binhg

#endif
#endif

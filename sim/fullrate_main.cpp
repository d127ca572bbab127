// The full-rate bench of a generated accelerator top (flow/backends/rtlgen.py), all in C++ under
// Verilator: inputs offered whenever beats remain (tvalid = 1), outputs always taken
// (tready = 1). sim/fullrate.py compiles it per design with a generated header,
// fullrate_ports.h, which binds the design's ports (their names and tdata widths vary):
//
//   FULLRATE_N_IN, FULLRATE_N_OUT and bind_ports(top, ins, outs), filling InPort/OutPort.
//
// Usage: Vaccelerator JOB (run with the rtl/ folder as working directory: the ROM files are
// read relative to it). JOB is a text file written by sim/fullrate.py:
//
//   watchdog <cycles>        no beat on any stream (the top's dbg_any_beat) this long: deadlock
//   drain <cycles>           cycles after the last expected beat in which beats are counted
//   result <path>            where the result goes
//   in <port> <beats> <file> per input, in port order: beats of words32 uint32 each, LE
//   out <port> <beats> <beats_per_frame>   per output, in port order
//
// Cycles are counted as in sim/stream_bench.py, so both benches give the same numbers: reset
// for 4 cycles, one idle cycle out of reset, then cycle 0 is the first cycle an input beat is on
// offer; a beat taken at the rising edge that ends cycle c is recorded at cycle c.
//
//   probes <path>            (a bench built with probes) write stream statistics there
//   timeline <path> <every>  (a bench built with probes) write every stream's beat count
//                            since cycle 0, sampled every <every> cycles, there
//
// The result file (text): "cycles N", "status ok|deadlock|error", "error <message>" if any,
// then per output "port <name> <beats> <extra beats> <tlast errors>", the indices of the
// tlast errors on one line, and one line "<cycle> <hex tdata>" per beat.
//
// Probes (FULLRATE_N_PROBES > 0, bind_probes in the header): every internal stream's tvalid
// and tready, counted from the end of the first output frame (the pipeline full) to the end:
// the probe file has "window <cycles>", then per stream "<wire> <beats> <stalled> <starved>",
// stalled = valid but not ready (its consumer holds it up), starved = ready but not valid.
// The timeline file has "every <cycles> samples <n>", then per stream "<wire>" and its beats
// before cycle 0, every, 2 * every, ...: when each stream's pixels pass, to set against the
// flow's pixel schedule (flow/measure/lag.py).
#include <verilated.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "Vaccelerator.h"
#include "Vaccelerator___024root.h"

namespace {

// tdata of any width from/to little-endian 32-bit words: scalars up to 64 bits, VlWide above.
template <typename T>
void write_tdata(T& sig, const uint32_t* w, int words) {
    uint64_t v = w[0];
    if (words > 1) v |= uint64_t(w[1]) << 32;
    sig = static_cast<T>(v);
}
template <std::size_t N>
void write_tdata(VlWide<N>& sig, const uint32_t* w, int) {
    for (std::size_t i = 0; i < N; ++i) sig[i] = w[i];
}
template <typename T>
void read_tdata(const T& sig, uint32_t* w, int words) {
    uint64_t v = sig;
    w[0] = uint32_t(v);
    if (words > 1) w[1] = uint32_t(v >> 32);
}
template <std::size_t N>
void read_tdata(const VlWide<N>& sig, uint32_t* w, int) {
    for (std::size_t i = 0; i < N; ++i) w[i] = sig[i];
}

struct InPort {
    std::string name;
    int words32;                                      // 32-bit words per beat
    std::function<void(const uint32_t*)> set_tdata;
    CData* tvalid;
    CData* tready;
    std::vector<uint32_t> data;                       // all beats, words32 each
    std::size_t beats = 0, idx = 0;
};

struct OutPort {
    std::string name;
    int words32;
    std::function<void(uint32_t*)> get_tdata;
    CData* tvalid;
    CData* tready;
    CData* tlast;
    std::size_t expect = 0, per_frame = 1, extra = 0;
    std::vector<uint32_t> data;
    std::vector<uint64_t> cycles;
    std::vector<std::size_t> tlast_errors;
};

struct Probe {
    std::string name;
    const CData* tvalid;
    const CData* tready;
    uint64_t beats = 0, stalled = 0, starved = 0;
    uint64_t total = 0;                 // beats since cycle 0 (the timeline's)
    std::vector<uint64_t> samples;      // total at every timeline sample
};

}  // namespace

#include "fullrate_ports.h"

namespace {

struct Job {
    uint64_t watchdog = 100000, drain = 256;
    std::string result, probes, timeline;
    uint64_t every = 0;                 // timeline sample interval, cycles (0: none)
};

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "fullrate: %s\n", msg.c_str());
    std::exit(2);
}

Job read_job(const char* path, std::vector<InPort>& ins, std::vector<OutPort>& outs) {
    std::ifstream f(path);
    if (!f) die(std::string("cannot read the job file ") + path);
    Job job;
    std::string line, key;
    std::size_t n_in = 0, n_out = 0;
    while (std::getline(f, line)) {
        std::istringstream s(line);
        if (!(s >> key)) continue;
        if (key == "watchdog") {
            s >> job.watchdog;
        } else if (key == "drain") {
            s >> job.drain;
        } else if (key == "result") {
            s >> job.result;
        } else if (key == "probes") {
            s >> job.probes;
        } else if (key == "timeline") {
            s >> job.timeline >> job.every;
            if (job.every == 0) die("timeline: the sample interval must be at least 1 cycle");
        } else if (key == "in" || key == "out") {
            bool in = key == "in";
            std::string name;
            s >> name;
            if ((in ? n_in : n_out) >= (in ? ins.size() : outs.size()))
                die("the job has more " + key + "puts than the design");
            const std::string& want = in ? ins[n_in].name : outs[n_out].name;
            if (name != want) die("job port " + name + " where the design has " + want);
            if (in) {
                InPort& p = ins[n_in++];
                std::string file;
                s >> p.beats >> file;
                p.data.resize(p.beats * p.words32);
                std::ifstream b(file, std::ios::binary);
                if (!b.read(reinterpret_cast<char*>(p.data.data()),
                            std::streamsize(p.data.size() * 4)))
                    die("cannot read " + std::to_string(p.beats) + " beats from " + file);
            } else {
                OutPort& p = outs[n_out++];
                s >> p.expect >> p.per_frame;
                p.data.reserve(p.expect * p.words32);
                p.cycles.reserve(p.expect);
            }
        } else {
            die("unknown job line: " + line);
        }
    }
    if (n_in != ins.size() || n_out != outs.size() || job.result.empty())
        die("the job does not describe every port and the result file");
    return job;
}

void write_result(const Job& job, uint64_t cycles, const std::string& status,
                  const std::string& error, const std::vector<OutPort>& outs) {
    FILE* f = std::fopen(job.result.c_str(), "w");
    if (!f) die("cannot write " + job.result);
    std::fprintf(f, "cycles %llu\nstatus %s\n", (unsigned long long)cycles, status.c_str());
    if (!error.empty()) std::fprintf(f, "error %s\n", error.c_str());
    for (const OutPort& p : outs) {
        std::fprintf(f, "port %s %zu %zu %zu\n", p.name.c_str(), p.cycles.size(), p.extra,
                     p.tlast_errors.size());
        for (std::size_t e : p.tlast_errors) std::fprintf(f, "%zu ", e);
        std::fprintf(f, "\n");
        for (std::size_t k = 0; k < p.cycles.size(); ++k) {
            std::fprintf(f, "%llu ", (unsigned long long)p.cycles[k]);
            const uint32_t* w = &p.data[k * p.words32];
            for (int i = p.words32 - 1; i >= 0; --i) std::fprintf(f, "%08x", w[i]);
            std::fprintf(f, "\n");
        }
    }
    std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) die("usage: Vaccelerator JOB");
    auto ctx = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vaccelerator>(ctx.get());
    std::vector<InPort> ins(FULLRATE_N_IN);
    std::vector<OutPort> outs(FULLRATE_N_OUT);
    bind_ports(top.get(), ins, outs);
    Job job = read_job(argv[1], ins, outs);
    // the top's OR of every stream's handshake (made readable by fullrate.vlt)
    const CData& any_beat = top->rootp->accelerator__DOT__dbg_any_beat;
    std::vector<Probe> probes(FULLRATE_N_PROBES);
    bind_probes(top.get(), probes);
    if (!job.probes.empty() && probes.empty()) die("probes asked of a bench built without them");
    if (job.every && probes.empty()) die("a timeline asked of a bench built without probes");
    uint64_t window = 0;

    // Two evaluations per cycle: the falling edge together with the next cycle's inputs
    // (nothing in the design is sensitive to it), then the rising edge.
    auto fall = [&] {
        top->ap_clk = 0;
        top->eval();
    };
    auto rise = [&] {
        top->ap_clk = 1;
        top->eval();
    };
    // reset as stream_bench.py does: 4 cycles, then one idle cycle with reset released
    top->ap_rst_n = 0;
    for (auto& p : ins) *p.tvalid = 0;
    for (auto& p : outs) *p.tready = 0;
    fall();
    for (int i = 0; i < 4; ++i) {
        rise();
        fall();
    }
    top->ap_rst_n = 1;
    fall();
    rise();

    uint64_t cycle = 0, idle = 0;
    std::size_t outs_done = 0, ins_done = 0;
    for (auto& p : ins) ins_done += p.beats == 0;
    for (auto& p : outs) outs_done += p.expect == 0;
    std::vector<bool> advanced(ins.size(), true);     // present a new beat's tdata
    while (outs_done < outs.size() || ins_done < ins.size()) {
        for (std::size_t i = 0; i < ins.size(); ++i) {
            InPort& p = ins[i];
            *p.tvalid = p.idx < p.beats;
            if (advanced[i] && p.idx < p.beats) p.set_tdata(&p.data[p.idx * p.words32]);
            advanced[i] = false;
        }
        for (auto& p : outs) *p.tready = 1;
        fall();
        // sample the handshakes before the rising edge, which moves these beats
        bool moved = any_beat;
        if (!probes.empty() && !outs.empty() && outs[0].cycles.size() >= outs[0].per_frame) {
            ++window;
            for (auto& q : probes) {
                bool v = *q.tvalid, r = *q.tready;
                q.beats += v && r;
                q.stalled += v && !r;
                q.starved += !v && r;
            }
        }
        if (job.every) {
            bool sample = cycle % job.every == 0;
            for (auto& q : probes) {
                if (sample) q.samples.push_back(q.total);
                q.total += *q.tvalid && *q.tready;
            }
        }
        for (std::size_t i = 0; i < ins.size(); ++i) {
            InPort& p = ins[i];
            if (*p.tvalid && *p.tready) {
                moved = advanced[i] = true;
                if (++p.idx == p.beats) ++ins_done;
            }
        }
        for (auto& p : outs) {
            if (!*p.tvalid) continue;
            moved = true;
            std::size_t n = p.cycles.size();
            if (bool(*p.tlast) != ((n + 1) % p.per_frame == 0)) p.tlast_errors.push_back(n);
            p.data.resize((n + 1) * p.words32);
            p.get_tdata(&p.data[n * p.words32]);
            p.cycles.push_back(cycle);
            if (n + 1 == p.expect) ++outs_done;
        }
        rise();
        ++cycle;
        idle = moved ? 0 : idle + 1;
        if (idle > job.watchdog) {
            std::ostringstream m;
            m << "deadlock: no beat moved on any stream for " << job.watchdog
              << " cycles (cycle " << cycle << "). Input beats consumed:";
            for (auto& p : ins) m << " " << p.name << " " << p.idx << "/" << p.beats;
            m << "; output beats received:";
            for (auto& p : outs) m << " " << p.name << " " << p.cycles.size() << "/" << p.expect;
            m << " (sim/harness.py's simulate() names the stalled layers)";
            write_result(job, cycle, "deadlock", m.str(), outs);
            std::fprintf(stderr, "%s\n", m.str().c_str());
            return 1;
        }
    }
    // nothing may follow the last expected beat
    for (auto& p : ins) *p.tvalid = 0;
    for (uint64_t i = 0; i < job.drain; ++i) {
        fall();
        for (auto& p : outs) p.extra += *p.tvalid;
        rise();
    }
    write_result(job, cycle, "ok", "", outs);
    if (!job.probes.empty()) {
        FILE* f = std::fopen(job.probes.c_str(), "w");
        if (!f) die("cannot write " + job.probes);
        std::fprintf(f, "window %llu\n", (unsigned long long)window);
        for (auto& q : probes)
            std::fprintf(f, "%s %llu %llu %llu\n", q.name.c_str(), (unsigned long long)q.beats,
                         (unsigned long long)q.stalled, (unsigned long long)q.starved);
        std::fclose(f);
    }
    if (job.every) {
        FILE* f = std::fopen(job.timeline.c_str(), "w");
        if (!f) die("cannot write " + job.timeline);
        std::fprintf(f, "every %llu samples %zu\n", (unsigned long long)job.every,
                     probes.empty() ? std::size_t(0) : probes[0].samples.size());
        for (auto& q : probes) {
            std::fprintf(f, "%s", q.name.c_str());
            for (uint64_t b : q.samples) std::fprintf(f, " %llu", (unsigned long long)b);
            std::fprintf(f, "\n");
        }
        std::fclose(f);
    }
    top->final();
    return 0;
}

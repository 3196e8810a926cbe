// Thin on purpose: parse -> run -> exit code. Everything else lives in the stages.
#include "aiportrait/cli.hpp"
#include "aiportrait/commands.hpp"
#include "aiportrait/discover.hpp"
#include "aiportrait/gallery.hpp"
#include "aiportrait/pipeline.hpp"
#include "aiportrait/report.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <exception>

#include <malloc.h>
#include <unistd.h>

namespace {

volatile std::sig_atomic_t g_signals = 0;
std::atomic<int> g_stop_signal{0};  // lock-free int: safe to set from a signal handler

// The first SIGINT/SIGTERM asks the run to stop after the input in progress; a second one
// (an impatient Ctrl-C) ends the process at once with the default action. Even then no output
// is half-written: outputs are renamed into place whole, and a temporary left behind is removed
// by the next run over that folder.
void on_signal(int signal) {
    if (g_signals++ > 0) {
        std::signal(signal, SIG_DFL);
        std::raise(signal);
        return;
    }
    g_stop_signal.store(signal);
}

void install_stop_handler(int signal) {
    struct sigaction current {};
    sigaction(signal, nullptr, &current);
    if (current.sa_handler == SIG_IGN) return;  // started ignoring it (a script's background job): keep to that
    struct sigaction action {};
    action.sa_handler = on_signal;
    action.sa_flags = SA_RESTART;  // reads and writes in flight carry on instead of failing with EINTR
    sigemptyset(&action.sa_mask);
    sigaction(signal, &action, nullptr);
}

// glibc raises its mmap threshold to the size of every big block freed (up to 32 MiB) and its
// trim threshold to twice that, after which the heap keeps up to 64 MiB it no longer uses: peak
// RSS then grew with the number of photos (bench/bench.sh: 10 vs 500 photos 1.09-1.23x). Any
// threshold set here is fixed and leaves the trim threshold at 128 KiB. 4 MiB bounded the growth
// (1.04) but sent blocks of 8-16 MiB through mmap and page faults (a sweep: 8 MiB no better than
// 4, 16 as good as 32; likely cv::dnn's layer buffers, reallocated whenever the detector's input
// size changes): 10.9 s of system time in a 500-photo run. 32 MiB (glibc's own maximum) keeps
// them in the heap: 4.7 s, the run 10 % faster (39.1 -> 35.2 s), peak RSS 10 vs 500 photos
// 1.08-1.13, each photo once vs cycled to 500 0.99-1.08. MALLOC_MMAP_THRESHOLD_ overrides it.
void bound_heap_growth() {
    if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

// A reader that goes away (`| head -n1`) must not kill the run silently with SIGPIPE: the writes
// to standard output then fail with EPIPE, which the writers report once, and the run goes on
// writing its files, prints its summary and manifest, and exits 1.
void ignore_sigpipe() {
    struct sigaction action {};
    action.sa_handler = SIG_IGN;
    sigemptyset(&action.sa_mask);
    sigaction(SIGPIPE, &action, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace aiportrait;
    bound_heap_growth();
    ignore_sigpipe();
    const Command cmd = parse_command_line(argc, argv);
    if (cmd.kind == Command::Kind::exit) return cmd.exit_code;
    const Config& config = cmd.config;
    // A progress bar only for a person at a terminal that understands its escape codes.
    const char* term = std::getenv("TERM");
    const bool progress = isatty(STDERR_FILENO) != 0 && !(term && std::string(term) == "dumb");
    Reporter reporter(config.quiet, config.json, progress);
    if (cmd.kind == Command::Kind::run && config.output == "-" && isatty(STDOUT_FILENO)) {
        reporter.error("", "-o -: standard output is a terminal; redirect it (-o - > portrait.png) or give -o FILE");
        return 2;
    }
    try {
        if (cmd.kind == Command::Kind::version) {
            const std::string text = version_report(config);
            return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0 ? 0 : 1;
        }
        if (cmd.kind == Command::Kind::gallery) return rebuild_gallery(cmd.photos[0], reporter);
        if (cmd.kind == Command::Kind::identity)
            return compare_identity(config, cmd.photos[0], cmd.photos[1], reporter);

        const Discovery discovery = discover(config);
        for (const std::string& warning : discovery.warnings) reporter.warning(warning);
        Pipeline pipeline(config, reporter);

        install_stop_handler(SIGINT);
        install_stop_handler(SIGTERM);

        const RunSummary summary = pipeline.run(discovery, [] { return g_stop_signal.load(); });
        reporter.info(summary.line());
        return summary.exit_code();
    } catch (const std::exception& e) {
        reporter.error("", e.what());
        return 2;
    }
}

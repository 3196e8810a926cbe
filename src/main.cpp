// Thin on purpose: parse -> run -> exit code. Everything else lives in the stages.
#include "aiportrait/cli.hpp"
#include "aiportrait/discover.hpp"
#include "aiportrait/pipeline.hpp"
#include "aiportrait/report.hpp"

#include <csignal>
#include <cstdio>
#include <exception>

#include <unistd.h>

namespace {

void on_signal(int signal) { aiportrait::request_stop(signal); }

}  // namespace

int main(int argc, char** argv) {
    using namespace aiportrait;
    const Command cmd = parse_command_line(argc, argv);
    if (cmd.kind == Command::Kind::exit) return cmd.exit_code;
    const Config& config = cmd.config;
    Reporter reporter(config.quiet, config.json, isatty(STDERR_FILENO) != 0);
    try {
        if (cmd.kind == Command::Kind::identity)
            return compare_identity(config, cmd.photos[0], cmd.photos[1], reporter);

        const Discovery discovery = discover(config);
        for (const std::string& warning : discovery.warnings) reporter.warning(warning);
        Pipeline pipeline(config, reporter);

        struct sigaction action {};
        action.sa_handler = on_signal;
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, nullptr);
        sigaction(SIGTERM, &action, nullptr);

        const RunSummary summary = pipeline.run(discovery);
        reporter.info(summary.line());
        return summary.exit_code();
    } catch (const std::exception& e) {
        reporter.error("", e.what());
        return 2;
    }
}

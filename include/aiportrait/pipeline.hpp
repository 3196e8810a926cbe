// The only place that calls several stages: discover -> decode -> detect -> align -> generate ->
// compose -> encode + sidecar, for every job.
#pragma once

#include "aiportrait/config.hpp"
#include "aiportrait/discover.hpp"
#include "aiportrait/manifest.hpp"
#include "aiportrait/report.hpp"

#include <chrono>
#include <functional>
#include <memory>

namespace aiportrait {

struct RunSummary : RunCounts {
    int dropped = 0;      // ... of which read and prepared, but only waiting in a queue
    int portraits = 0;    // faces re-drawn in the inputs that succeeded (--all-faces: one per face)
    bool nothing_found = false;  // the inputs named no image at all
    int signal = 0;       // SIGINT/SIGTERM that stopped the run, 0 if none
    bool records_lost = false;  // --json records could not be written to standard output
    std::string manifest;       // the run manifest written (folder runs; manifest.hpp)
    bool manifest_lost = false; // it could not be written
    bool gallery_lost = false;  // --gallery: the page could not be written
    double seconds = 0;   // from the process's start (libraries, models) to the last record

    // 0 all inputs produced a portrait (or were skipped as done), 1 some failed, there were none,
    // or the --json records or the run manifest were lost, 128 + signal when interrupted.
    int exit_code() const;
    std::string line() const;  // the one-line summary closing every run
};

class Pipeline {
public:
    // Loads and validates every model the configuration needs. Throws std::runtime_error
    // (a configuration/model error: exit 2) naming the file or option at fault.
    Pipeline(const Config& config, Reporter& reporter);
    ~Pipeline();

    // The signal that asks the run to stop taking inputs (0 = go on); polled between inputs.
    using StopCheck = std::function<int()>;

    // Every job of `discovery`, in order; in-flight inputs finish when `stop_requested` fires.
    RunSummary run(const Discovery& discovery, const StopCheck& stop_requested = {});

private:
    void write_run_manifest(const std::string& output_dir, RunSummary& summary, RunManifest& manifest) const;
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::chrono::steady_clock::time_point created_;
};

}  // namespace aiportrait

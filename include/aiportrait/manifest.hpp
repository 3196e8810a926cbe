// The run manifest: one JSON file per folder (or multi-input) run, beside the outputs, saying
// what the whole batch did. The image sidecars say it per input; the manifest carries the same
// generator/detector/identity/parameters objects (sidecar.hpp's describe_run) once, the counts,
// the timings and one entry per input in run order.
//
//   OUT/aiportrait-run.20261202T034512Z.json          a plain run
//   OUT/aiportrait-run.20261202T034512Z.2-of-4.json   shard 2 of 4
//
// Every run writes its own file (a resumed run or another shard never replaces one), atomically:
// a killed run leaves the earlier manifests and none of its own. Merge with
// `jq -s '[.[].inputs[]]' OUT/aiportrait-run.*.json`.
#pragma once

#include "aiportrait/sidecar.hpp"
#include "aiportrait/types.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace aiportrait {

inline constexpr int kManifestSchemaVersion = 1;
inline constexpr const char* kManifestPrefix = "aiportrait-run.";

// What happened to one input. status: "ok", "no_face", "error", "skipped" (--skip-existing
// found it done) or "not_started" (a signal stopped the run first).
struct ManifestEntry {
    std::string input;
    std::string status;
    std::string error;                 // one line; empty when none
    std::vector<std::string> outputs;  // images written (or, when skipped, found done)
    std::string sidecar;               // empty when none was written
};

// What became of a run's inputs, counted once: the summary line (pipeline.hpp's RunSummary)
// and the manifest's "counts" are both this.
struct RunCounts {
    int ok = 0, no_face = 0, failed = 0;
    int skipped = 0;      // --skip-existing found them done
    int not_started = 0;  // left when a signal stopped the run
};

struct RunManifest : RunCounts {
    std::vector<std::string> command_line;  // argv as given
    std::chrono::system_clock::time_point started, finished;
    int shard_index = 1, shard_count = 1;
    RunInfo run;
    int signal = 0;     // that stopped the run, 0 if none
    int exit_code = 0;
    double seconds = 0;  // wall time, from loading the models to the last record
    Timings stages;      // summed over the inputs (CPU-side wall time per stage)
    std::vector<ManifestEntry> inputs;
};

nlohmann::json manifest_json(const RunManifest& manifest);

// Writes the manifest into `output_dir` atomically under a name no earlier manifest there has
// (a suffix -2, -3, ... when two runs start within the same second). Returns its path. Throws
// std::runtime_error naming the path when it cannot be written.
std::string write_manifest(const std::string& output_dir, const RunManifest& manifest);

// "2026-12-02T03:45:12Z".
std::string utc_iso8601(std::chrono::system_clock::time_point t);

}  // namespace aiportrait

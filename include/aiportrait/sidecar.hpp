// Sidecar stage: the JSON record of what happened to one input. The same record is written
// beside the output and printed by --json (one line per input).
#pragma once

#include "aiportrait/types.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace aiportrait {

inline constexpr int kSidecarSchemaVersion = 1;

// Facts that hold for every input of a run: tool, models, parameters.
struct RunInfo {
    std::string tool_version;
    nlohmann::json generator;   // path, sha256, name, version, license, input_size, ...
    nlohmann::json detector;    // name, model path, model sha256, threshold, ...
    nlohmann::json identity;    // net name, model files, or null when identity is off
    nlohmann::json parameters;  // every option that shaped the result
};

struct InputRecord {
    std::string input;            // path, or "-" for standard input
    std::string input_sha256;
    int width = 0, height = 0;    // after EXIF orientation
    int exif_orientation = 1;
    std::string source_format;
    std::vector<std::string> warnings;
    std::string output;           // main output ("-" = stdout); empty when nothing was written
    std::string sidecar;
    OutputKind kind = OutputKind::portrait;
    int output_width = 0, output_height = 0;
    StrengthMode strength_mode = StrengthMode::model;
    std::vector<FaceRecord> faces;
    Timings timings;
    Status status = Status::error;
    std::string error;            // one line, empty when ok
};

nlohmann::json make_record(const InputRecord& record, const RunInfo& run);

}  // namespace aiportrait

// The list of face detectors: the one place that names them. Adding a detector is one row in
// src/detect/detectors.cpp, one DetectorChoice value and its own source file (README,
// "Development"); the CLI, the models folder, the sidecar and the docs read this table.
#pragma once

#include "aiportrait/config.hpp"
#include "aiportrait/detect.hpp"

#include <memory>
#include <string>
#include <vector>

namespace aiportrait {

struct DetectorEntry {
    DetectorChoice choice;
    const char* name;        // --detector value and the sidecar's detector.name
    const char* model_file;  // relative to the models folder (scripts/fetch_models.sh puts it there)
    const char* summary;     // for --help
    std::unique_ptr<FaceDetector> (*make)(const std::string& model_path, const DetectorOptions& options);
};

// In the order `--detector auto` prefers them: the first whose model file is installed.
const std::vector<DetectorEntry>& detector_table();

// The row of `choice` (not automatic). Throws std::invalid_argument for automatic.
const DetectorEntry& detector_entry(DetectorChoice choice);

// "auto" or the table's name.
const char* to_string(DetectorChoice choice);

}  // namespace aiportrait

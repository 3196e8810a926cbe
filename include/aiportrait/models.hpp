// Where the fetched models live (scripts/fetch_models.sh puts them in weights/).
#pragma once

#include <string>
#include <vector>

namespace aiportrait {

struct ModelLocations {
    std::string dir;                // the models folder in use ("" if none found)
    std::string face_recognition;   // dir/face-api (manifest + weights of the identity net)
    std::string default_generator;  // dir/generator/aiportrait-default.pt
    std::vector<std::string> searched;  // folders looked at, for error messages

    // A file inside the models folder (e.g. a detector's, named by detectors.hpp's table).
    std::string file(const std::string& relative) const { return dir + "/" + relative; }
};

// Finds the models folder: `explicit_dir` (--models-dir) if given, else $AIPORTRAIT_MODELS_DIR,
// else weights/ beside the executable's parent (build tree and install prefix), else the
// source tree's weights/ this binary was built from. Does not check the files themselves.
ModelLocations locate_models(const std::string& explicit_dir);

}  // namespace aiportrait

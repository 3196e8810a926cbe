// The subcommands beside a run (src/commands/): each does one thing with the models or an
// output folder; main.cpp picks one from the parsed Command.
#pragma once

#include "aiportrait/config.hpp"
#include "aiportrait/report.hpp"

#include <string>

namespace aiportrait {

// `aiportrait identity A B`: prints the identity distance between the largest faces of two
// photos on stdout (the number first, then "same" or "different"). Returns the exit code:
// 0 done, 1 a photo is unreadable or has no face. Throws std::runtime_error on model errors.
int compare_identity(const Config& config, const std::string& photo_a, const std::string& photo_b,
                     Reporter& reporter);

// `aiportrait --version`: this build's version, LibTorch's and OpenCV's, and the default
// generator's name and version (or why there is none), one fact per line.
std::string version_report(const Config& config);

// `aiportrait gallery DIR` is rebuild_gallery (gallery.hpp): a --gallery run ends with it too.

}  // namespace aiportrait

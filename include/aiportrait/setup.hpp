// What a run (pipeline/) and the `identity` command (commands/) set up the same way before any
// work: models folder, threads, detector. Implemented in src/pipeline/setup.cpp.
#pragma once

#include "aiportrait/config.hpp"
#include "aiportrait/detect.hpp"
#include "aiportrait/models.hpp"

#include <memory>

namespace aiportrait {

// The models folder, or a configuration error naming where it looked.
ModelLocations find_models(const Config& config);

// Threads for LibTorch and OpenCV: --threads, else every core. Returns the count.
int configure_threads(const Config& config);

// YuNet when installed (or asked for), else BlazeFace, with the options the configuration asks.
std::unique_ptr<FaceDetector> make_detector(const Config& config, const ModelLocations& where);

}  // namespace aiportrait

// --target-identity's search: the strength per face whose identity distance lands nearest a
// target. A pure function of a distance probe, so it is tested without models; the pipeline's
// probe runs the generator and the identity net.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace aiportrait {

struct StrengthSearchResult {
    double strength = 1.0;   // the best strength tried
    double distance = 0.0;   // its distance
    int evaluations = 0;     // probes spent on this face
    int best_evaluation = 0; // which of them (0-based) gave the best strength
    bool reached = false;    // |distance - target| <= tolerance
};

// Distances of faces `which` at `strengths` (one each), in that order. One call per round, so
// the caller can run all faces of a photo in one batch.
using DistanceProbe =
    std::function<std::vector<double>(const std::vector<std::size_t>& which, const std::vector<double>& strengths)>;

// Regula falsi (Illinois) on distance(strength) - target, which rises with strength for a
// sensible model: probe 1 (most different), then 0, then interpolate; at most `budget` probes
// per face, and a face stops when it is within `tolerance` or the target is out of its reach
// (already closer at 1, or already farther at 0). Exceptions from the probe propagate.
std::vector<StrengthSearchResult> search_strengths(std::size_t faces, double target, const DistanceProbe& probe,
                                                   double tolerance = 0.03, int budget = 6);

}  // namespace aiportrait

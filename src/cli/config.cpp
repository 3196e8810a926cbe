#include "aiportrait/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>
#include <utility>

#include <sched.h>

namespace aiportrait {

void validate(const Config& c) {
    auto fail = [](const std::string& why) { throw std::invalid_argument(why); };
    // NaN passes every range comparison below (each is false), so finiteness is checked first.
    for (const auto& [name, value] : {std::pair{"--detect-threshold", c.detect_threshold},
                                      std::pair{"--feather", c.feather},
                                      std::pair{"--grain", c.grain},
                                      std::pair{"--strength", c.strength.value_or(0.5)},
                                      std::pair{"--target-identity", c.target_identity.value_or(0.5)}})
        if (!std::isfinite(value)) fail(fmt::format("{}: must be a finite number", name));
    if (c.output.empty()) {
        // After "--" every word is an input, "-o" too: say so rather than that -o is missing.
        const auto& argv = c.command_line;
        if (std::find(argv.begin(), argv.end(), "--") != argv.end() &&
            std::find_if(c.inputs.begin(), c.inputs.end(), [](const std::string& in) {
                return in == "-o" || in.rfind("--output", 0) == 0;
            }) != c.inputs.end())
            fail("-o/--output is required, and the -o after '--' is read as an input (everything after '--' is); "
                 "put the options before '--': aiportrait -o OUT -- -NAME.jpg");
        fail("-o/--output is required (a file, a folder, or - for standard output)");
    }
    if (c.threads < 0 || c.threads > max_threads())
        fail(fmt::format("--threads: must be in 0..{} (0 = all cores; at most 4 x the {} cores of this machine)",
                         max_threads(), available_cores()));
    if (c.batch < 0 || c.batch > 256) fail("--batch: must be in 1..256 (0 = automatic)");
    if (c.shard_count < 1 || c.shard_index < 1 || c.shard_index > c.shard_count)
        fail(fmt::format("--shard: {}/{} is not K/N with 1 <= K <= N", c.shard_index, c.shard_count));
    if (c.detect_threshold <= 0 || c.detect_threshold >= 1) fail("--detect-threshold: must be in (0, 1)");
    if (c.min_face < 0 || c.min_face > 100000) fail("--min-face: must be in 0..100000 (0 = no minimum)");
    if (c.detect_max_side < 0 || (c.detect_max_side > 0 && c.detect_max_side < 64))
        fail("--detect-max-side: must be 0 (full size) or at least 64");
    if (c.strength && (*c.strength < 0 || *c.strength > 1)) fail("--strength: must be in [0, 1]");
    if (c.target_identity && (*c.target_identity <= 0 || *c.target_identity >= 2))
        fail("--target-identity: must be in (0, 2)");
    if (c.target_identity && c.strength) fail("--target-identity chooses the strength; do not also give --strength");
    if (c.target_identity && !c.identity) fail("--target-identity needs the identity net; drop --no-identity");
    if (c.feather <= 0 || c.feather > 1) fail("--feather: must be in (0, 1]");
    if (c.grain < 0 || c.grain > 2) fail("--grain: must be in [0, 2]");
    if (c.max_pixels < 0) fail("--max-pixels: must be 0 (no limit) or more");
    if (c.json && c.output == "-") fail("--json and -o - both want standard output; write the image to a file");
    if (c.kind == OutputKind::all_faces && c.output == "-")
        fail("--all-faces writes one file per face; -o - takes a single image");
}

int available_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int max_threads() { return 4 * available_cores(); }

int generator_batch(const Config& config) {
    if (config.batch > 0) return config.batch;
    return config.device == Device::cuda ? 16 : 4;
}

}  // namespace aiportrait

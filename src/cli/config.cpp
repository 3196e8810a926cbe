#include "aiportrait/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>
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
        fail(fmt::format("--threads: must be in 0..{} (0 = all cores; at most {} x the {} cores of this machine)",
                         max_threads(), defaults::threads_per_core_most, available_cores()));
    using namespace defaults;
    if (c.batch < 0 || c.batch > batch_most) fail(fmt::format("--batch: must be in 1..{} (0 = automatic)", batch_most));
    if (!valid_shard(c.shard_index, c.shard_count))
        fail(fmt::format("--shard: {}/{} is not K/N with 1 <= K <= N", c.shard_index, c.shard_count));
    auto require_in = [&](const char* flag, double value, const Interval& range) {
        if (!range.contains(value)) fail(fmt::format("{}: must be in {}", flag, to_string(range)));
    };
    require_in("--detect-threshold", c.detect_threshold, detect_threshold_range);
    if (c.min_face < 0 || c.min_face > min_face_most)
        fail(fmt::format("--min-face: must be in 0..{} (0 = no minimum)", min_face_most));
    if (c.detect_max_side < 0 || (c.detect_max_side > 0 && c.detect_max_side < detect_max_side_least))
        fail(fmt::format("--detect-max-side: must be 0 (full size) or at least {}", detect_max_side_least));
    if (c.strength) require_in("--strength", *c.strength, strength_range);
    if (c.target_identity) require_in("--target-identity", *c.target_identity, target_identity_range);
    if (c.target_identity && c.strength) fail("--target-identity chooses the strength; do not also give --strength");
    if (c.target_identity && !c.identity) fail("--target-identity needs the identity net; drop --no-identity");
    require_in("--feather", c.feather, feather_range);
    require_in("--grain", c.grain, grain_range);
    if (c.max_pixels < 0) fail("--max-pixels: must be 0 (no limit) or more");
    if (c.json && c.output == "-") fail("--json and -o - both want standard output; write the image to a file");
    if (c.kind == OutputKind::all_faces && c.output == "-")
        fail("--all-faces writes one file per face; -o - takes a single image");
}

std::string to_string(const Interval& i) {
    return fmt::format("{}{}, {}{}", i.lo_open ? '(' : '[', i.lo, i.hi, i.hi_open ? ')' : ']');
}

bool parse_shard(const std::string& text, int& index, int& count) {
    int k = 0, n = 0;
    char slash = 0;
    std::istringstream in(text);
    if (!(in >> k >> slash >> n) || slash != '/' || !in.eof() || !valid_shard(k, n)) return false;
    index = k;
    count = n;
    return true;
}

int available_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int max_threads() { return defaults::threads_per_core_most * available_cores(); }

int generator_batch(const Config& config) {
    if (config.batch > 0) return config.batch;
    return config.device == Device::cuda ? defaults::batch_cuda : defaults::batch_cpu;
}

}  // namespace aiportrait

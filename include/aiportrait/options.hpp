// The numeric options' defaults and ranges, each defined once. Config's defaults (config.hpp),
// the command line's checks and --help (cli.cpp), validate() (config.cpp) and the detector's own
// default (detect.hpp) read them; CliParse.ManPageStatesEveryDefaultAndRange holds the man page
// and README's options table to them.
#pragma once

#include <string>

namespace aiportrait {

// An interval of reals whose ends may be open, printed as "(0, 1]" in --help and errors.
struct Interval {
    double lo, hi;
    bool lo_open, hi_open;
    // NaN is in no interval (each comparison with it is false).
    constexpr bool contains(double v) const { return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi); }
};
std::string to_string(const Interval& interval);

namespace defaults {

inline constexpr double detect_threshold = 0.7;  // double: the sidecar shows 0.3, not 0.30000001192092896
inline constexpr Interval detect_threshold_range{0, 1, true, true};
inline constexpr int detect_max_side = 2048;     // 0 = full size
inline constexpr int detect_max_side_least = 64; // the smallest side other than 0
inline constexpr int min_face = 40;              // 0 = no minimum
inline constexpr int min_face_most = 100000;
inline constexpr long long max_pixels = 150'000'000;  // 0 = no limit
inline constexpr double feather = 0.3;
inline constexpr Interval feather_range{0, 1, true, false};
inline constexpr double grain = 1.0;
inline constexpr Interval grain_range{0, 2, false, false};
inline constexpr Interval strength_range{0, 1, false, false};          // the default is the model's
inline constexpr Interval target_identity_range{0, 2, true, true};
inline constexpr int batch_cpu = 4;             // bigger batches gain nothing on a few cores
inline constexpr int batch_cuda = 16;
inline constexpr int batch_most = 256;
inline constexpr int threads_per_core_most = 4;  // --threads' bound: this many x the cores (max_threads)

}  // namespace defaults

// --shard K/N: 1 <= K <= N.
constexpr bool valid_shard(int index, int count) { return count >= 1 && index >= 1 && index <= count; }
// "K/N" with valid_shard(K, N): the one parser of --shard. False (K and N untouched) otherwise.
bool parse_shard(const std::string& text, int& index, int& count);

}  // namespace aiportrait

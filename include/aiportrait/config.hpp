// The validated run configuration every stage reads. Built by the CLI (cli.hpp), checked once by
// validate() before any work, so stages can trust it.
#pragma once

#include "aiportrait/options.hpp"
#include "aiportrait/types.hpp"

#include <optional>
#include <string>
#include <vector>

namespace aiportrait {

// --detector: `automatic` or one of detectors.hpp's table.
enum class DetectorChoice { automatic, yunet, blazeface };

struct Config {
    // Inputs: files, directories (recursed, sorted) or "-" for standard input.
    std::vector<std::string> inputs;
    std::string files_from;       // file with one input path per line; "-" = stdin; "" = none
    bool null_separated = false;  // --files-from paths end with NUL (find -print0), not newline
    std::string output;           // file, directory, or "-" for standard output
    std::string sidecar;          // explicit sidecar path (required to get one with -o -)
    ImageFormat format = ImageFormat::png;  // image format of outputs in directory mode
    bool json = false;            // NDJSON record per input on stdout
    bool quiet = false;
    bool skip_existing = false;
    bool gallery = false;         // write OUTPUT_DIR/index.html after a folder run (gallery.hpp)
    long long max_pixels = defaults::max_pixels;  // refuse larger images before decoding (0 = no limit)

    // Models.
    std::string model;            // generator; empty = the installed default
    std::string models_dir;       // where fetched models live; empty = search the defaults
    DetectorChoice detector = DetectorChoice::automatic;
    double detect_threshold = defaults::detect_threshold;
    int detect_max_side = defaults::detect_max_side;
    int min_face = defaults::min_face;  // faces smaller than this (box's shorter side, px) are not portrayed
    Device device = Device::cpu;
    int threads = 0;              // 0 = all cores
    int batch = 0;                // faces per generator forward, gathered across inputs; 0 = auto

    // Scale-out: this process takes shard `shard_index` (1-based) of `shard_count`.
    int shard_index = 1;
    int shard_count = 1;

    // What to make.
    OutputKind kind = OutputKind::portrait;
    std::optional<double> strength;         // empty = the model's default
    std::optional<double> target_identity;  // search strength per face to reach this distance
    bool identity = true;                   // compute identity distance per face
    double feather = defaults::feather;     // paste-back mask falloff, fraction of the face oval
    double grain = defaults::grain;         // paste-back grain matching: 0 = off, 1 = the photo's
    // The command line as given (argv), for the run manifest.
    std::vector<std::string> command_line;
};

// Throws std::invalid_argument with a message naming the offending option.
void validate(const Config& config);

// The cores this process may run on (its CPU affinity, as nproc counts them), at least 1.
int available_cores();
// The most --threads accepts: defaults::threads_per_core_most (4) x available_cores(). More only
// adds switching (256 threads made one photo take 22 s on 2 cores), and a typo such as 1000000
// would start that many threads.
int max_threads();

// Faces per generator forward: --batch, else 4 on the CPU (bigger batches gain nothing on a few
// cores and hold more photos in flight) and 16 on CUDA (a GPU needs wide batches to be busy).
int generator_batch(const Config& config);

}  // namespace aiportrait

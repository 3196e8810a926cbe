// Input discovery: turns the command line's inputs into jobs, each knowing where its portrait and
// sidecar go. Directory inputs are walked recursively in sorted order and mirrored under the
// output directory.
#pragma once

#include "aiportrait/config.hpp"

#include <string>
#include <vector>

namespace aiportrait {

struct Job {
    std::string input;     // a file path, or "-" for standard input
    std::string output;    // image path, or "-" for standard output
    std::string sidecar;   // JSON path, or empty for none
    // What --shard hashes: the output's name under the output folder (folder runs), so the split
    // does not depend on how the input folder was spelled; empty = the normalised input path.
    std::string shard_key = {};
};

// An input that cannot become a job (missing file, output would overwrite it, ...). It counts
// as a failed input, reported with the others.
struct RejectedInput {
    std::string input;
    std::string reason;
    // Its place in input order: it comes just before jobs[before_job] (jobs.size() = after them
    // all), so records and the run manifest list every input in the order given.
    std::size_t before_job = 0;
};

struct Discovery {
    std::vector<Job> jobs;
    // The output folder of a folder (or multi-input) run, where its run manifest goes; empty for
    // a single input.
    std::string output_dir;
    std::vector<RejectedInput> rejected;
    std::vector<std::string> warnings;
    // The inputs named no image at all (an empty folder, one of unsupported files only), before
    // --shard took its share: a run that can do nothing says so and fails.
    bool nothing_found = false;
};

// True for file names with an image extension we decode (case-insensitive).
bool has_image_extension(const std::string& path);

// The sidecar path that belongs to an image output: same name, extension ".json".
std::string sidecar_path_for(const std::string& output);

// Whether `key` (a job's shard_key) belongs to shard `index` (1-based) of `count`: a hash of the
// string, so shards are disjoint, cover everything, and stay put when other files come and go.
bool in_shard(const std::string& key, int index, int count);

// Throws std::invalid_argument for usage errors (e.g. several inputs but -o names a file, or
// --files-from cannot be read).
Discovery discover(const Config& config);

}  // namespace aiportrait

#include "aiportrait/discover.hpp"

#include "aiportrait/output.hpp"
#include "walk.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace aiportrait {
namespace {


// The paths of --files-from: one per line (a trailing \r dropped), or NUL-terminated with
// --null. A NUL byte in a newline list means find -print0 fed it: reading it as one path would
// pair one person's photo with another's name, so that is a usage error.
std::vector<std::string> read_path_list(const std::string& source, bool null_separated) {
    std::ifstream file;
    if (source != "-") {
        file.open(source, std::ios::binary);
        if (!file) throw std::invalid_argument(fmt::format("--files-from: cannot read '{}'", source));
    }
    std::ostringstream all;
    all << (source == "-" ? std::cin.rdbuf() : file.rdbuf());
    const std::string text = all.str();
    const char separator = null_separated ? '\0' : '\n';
    if (!null_separated && text.find('\0') != std::string::npos)
        throw std::invalid_argument(fmt::format(
            "--files-from {}: the list holds NUL bytes; use -0/--null for NUL-separated lists (find -print0)",
            source == "-" ? "-" : "'" + source + "'"));
    std::vector<std::string> paths;
    std::size_t begin = 0;
    while (begin < text.size()) {
        std::size_t end = text.find(separator, begin);
        if (end == std::string::npos) end = text.size();
        std::string path = text.substr(begin, end - begin);
        if (!null_separated && !path.empty() && path.back() == '\r') path.pop_back();
        if (!path.empty()) paths.push_back(std::move(path));
        begin = end + 1;
    }
    return paths;
}

// Canonical form used to compare paths for identity; falls back to the lexical absolute path
// for files that do not exist yet.
std::string identity_key(const fs::path& p) {
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(p, ec);
    if (ec) canonical = fs::absolute(p);
    // "out/", "out/." and "a/../out" name the folder "out", as they do to the shell.
    std::string key = canonical.lexically_normal().string();
    while (key.size() > 1 && key.back() == '/') key.pop_back();
    return key;
}

bool is_inside(const fs::path& child, const fs::path& parent) {
    const std::string c = identity_key(child), p = identity_key(parent);
    return c.size() > p.size() && c.compare(0, p.size(), p) == 0 && c[p.size()] == '/';
}

struct Candidate {
    std::string input;
    fs::path relative_output;  // relative to the output directory, extension already set
    std::string refused;       // why it cannot be done (missing, a FIFO, ...); empty = a job
};

// The same input however it was spelled ("faces/a.jpg", "./faces/a.jpg", "/home/me/faces/a.jpg"
// from /home/me): the lexically normal path relative to the working folder.
std::string normal_relative(const std::string& input) {
    std::error_code ec;
    const fs::path cwd = fs::current_path(ec);
    const fs::path absolute = fs::absolute(input, ec).lexically_normal();
    const fs::path rel = cwd.empty() ? absolute : absolute.lexically_relative(cwd);
    return (rel.empty() ? absolute : rel).generic_string();
}

// Output names are assigned over all inputs first (so every shard names files the same way),
// then each shard keeps its own share. Jobs are sharded by their output name under the output
// folder, which is the same whichever way the input folder was spelled.
Discovery shard_of(Discovery all, const Config& config) {
    if (config.shard_count <= 1) return all;
    Discovery mine;
    mine.warnings = std::move(all.warnings);
    mine.nothing_found = all.nothing_found;
    mine.output_dir = std::move(all.output_dir);
    // kept_before[i]: how many of this shard's jobs come before all.jobs[i], to keep each
    // refused input's place in input order.
    std::vector<std::size_t> kept_before;
    for (Job& job : all.jobs) {
        kept_before.push_back(mine.jobs.size());
        if (in_shard(job.shard_key.empty() ? normal_relative(job.input) : job.shard_key, config.shard_index,
                     config.shard_count))
            mine.jobs.push_back(std::move(job));
    }
    kept_before.push_back(mine.jobs.size());
    for (RejectedInput& r : all.rejected)
        if (in_shard(normal_relative(r.input), config.shard_index, config.shard_count)) {
            r.before_job = kept_before[r.before_job];
            mine.rejected.push_back(std::move(r));
        }
    return mine;
}

}  // namespace

bool has_image_extension(const std::string& path) {
    static const std::set<std::string> extensions = {".jpg", ".jpeg", ".jpe", ".png", ".bmp",  ".tif",
                                                     ".tiff", ".webp", ".pgm", ".ppm", ".pbm", ".pnm"};
    return extensions.count(lower_case(fs::path(path).extension().string())) > 0;
}

bool in_shard(const std::string& key, int index, int count) {
    if (count <= 1) return true;
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across runs, hosts and builds
    for (unsigned char c : key) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return static_cast<int>(h % static_cast<std::uint64_t>(count)) == index - 1;
}

std::string sidecar_path_for(const std::string& output) {
    return fs::path(output).replace_extension(".json").string();
}

Discovery discover(const Config& config) {
    std::vector<std::string> inputs = config.inputs;
    // Before reading the list: photo bytes read as a list would be blamed for their NUL bytes.
    if (config.files_from == "-" && std::count(inputs.begin(), inputs.end(), "-") > 0)
        throw std::invalid_argument("--files-from - and input '-' both want standard input");
    if (!config.files_from.empty()) {
        std::vector<std::string> listed = read_path_list(config.files_from, config.null_separated);
        inputs.insert(inputs.end(), listed.begin(), listed.end());
    }
    if (inputs.empty()) throw std::invalid_argument("no inputs: give photos, folders, '-' or --files-from");

    const bool stdin_input = std::count(inputs.begin(), inputs.end(), "-") > 0;
    if (stdin_input && inputs.size() > 1)
        throw std::invalid_argument("input '-' (standard input) cannot be combined with other inputs");

    std::error_code ec;
    const bool any_dir_input = std::any_of(inputs.begin(), inputs.end(), [](const std::string& in) {
        std::error_code e;
        return in != "-" && fs::is_directory(in, e);
    });
    // "out/", "out/." and "x/.." are folders as the shell reads them; output names keep the
    // lexically normal spelling ("out/a.png", not "out/./a.png").
    const fs::path given(config.output);
    const fs::path out_path = config.output == "-" ? given : given.lexically_normal();
    const std::string last = given.filename().string();
    // A file-type extension is 1-5 letters (".png", ".heic", ".txt"); "run.v2" or "s_0.25" are
    // folder names, as they were.
    const std::string ext = given.extension().string();
    const bool file_like = ext.size() >= 2 && ext.size() <= 6 &&
                           std::all_of(ext.begin() + 1, ext.end(), [](unsigned char c) { return std::isalpha(c); });
    const bool output_is_dir = config.output != "-" &&
                               (fs::is_directory(out_path, ec) || config.output.back() == '/' || last == "." ||
                                last == ".." || !file_like);
    // Decided from the name before any work: a name with another extension is neither an image
    // we can write nor (silently) a folder.
    if (config.output != "-" && !output_is_dir && !is_writable_image_path(config.output))
        throw std::invalid_argument(fmt::format(
            "-o '{}': outputs are {}; for a folder of that name, end it with '/'", config.output,
            writable_formats_text()));
    const bool directory_mode = inputs.size() > 1 || any_dir_input || output_is_dir;

    if (config.gallery && (config.output == "-" || !directory_mode))
        throw std::invalid_argument("--gallery: a gallery shows a folder run; give -o a folder (e.g. -o out/)");
    Discovery result;
    if (config.output == "-") {
        if (inputs.size() > 1)
            throw std::invalid_argument(fmt::format(
                "-o - takes one input ({} were given); write several into a folder: -o out/", inputs.size()));
        if (any_dir_input)
            throw std::invalid_argument(fmt::format(
                "-o - takes one image file, and '{}' is a folder; write a folder into a folder: -o out/", inputs[0]));
        result.jobs.push_back({inputs[0], "-", config.sidecar});
        return shard_of(std::move(result), config);
    }
    if (!directory_mode) {
        if (!config.sidecar.empty() && identity_key(config.sidecar) == identity_key(config.output))
            throw std::invalid_argument("--sidecar: the same path as the output image");
        Job job{inputs[0], config.output, config.sidecar.empty() ? sidecar_path_for(config.output) : config.sidecar};
        if (job.input != "-" && (identity_key(job.input) == identity_key(job.output) ||
                                 identity_key(job.input) == identity_key(job.sidecar))) {
            result.rejected.push_back({job.input, fmt::format("output '{}' would overwrite the input", job.output), 0});
        } else {
            result.jobs.push_back(job);
        }
        return shard_of(std::move(result), config);
    }
    if (stdin_input) throw std::invalid_argument("input '-' needs -o FILE or -o -, not a folder");
    if (!config.sidecar.empty())
        throw std::invalid_argument("--sidecar names one file; with several inputs sidecars sit beside each output");
    result.output_dir = out_path.string();

    // Gather (input, relative output) pairs in the order given, folders expanded and sorted.
    std::vector<Candidate> candidates;
    std::set<std::string> input_keys;
    // The same path given twice (or a folder and a file in it) is done once; a link with its
    // own name is its own input.
    std::set<fs::path> listed;
    WalkNotes notes;  // what folder walks left out, to say once
    const std::string extension = output_format(config.format).extensions.front();
    for (const std::string& input : inputs) {
        std::error_code e;
        const fs::file_status st = fs::status(input, e);
        if (fs::is_directory(st)) {
            // The output folder inside the input is not walked.
            const std::string exclude = is_inside(out_path, input) ? identity_key(out_path) : "";
            const auto excluded = [&](const fs::path& folder) {
                return !exclude.empty() && identity_key(folder) == exclude;
            };
            for (const auto& [file, refused] : walk_images(input, excluded, notes)) {
                if (!refused.empty()) {
                    candidates.push_back({file.string(), {}, refused});
                    continue;
                }
                input_keys.insert(identity_key(file));
                if (!listed.insert(fs::absolute(file).lexically_normal()).second) {
                    result.warnings.push_back(fmt::format("{} is listed more than once; doing it once", file.string()));
                    continue;
                }
                fs::path rel = file.lexically_relative(input);
                candidates.push_back({file.string(), rel.replace_extension(extension), ""});
            }
        } else if (fs::exists(st)) {
            input_keys.insert(identity_key(input));
            if (!listed.insert(fs::absolute(input).lexically_normal()).second) {
                result.warnings.push_back(fmt::format("{} is listed more than once; doing it once", input));
                continue;
            }
            fs::path name = fs::path(input).filename();
            candidates.push_back({input, name.replace_extension(extension), ""});
        } else {
            candidates.push_back({input, {}, e ? e.message() : "no such file or directory"});
        }
    }
    std::vector<std::string>& linked_folders = notes.linked_folders;
    if (!linked_folders.empty()) {
        std::sort(linked_folders.begin(), linked_folders.end());
        const std::size_t shown = std::min<std::size_t>(linked_folders.size(), 3);
        result.warnings.push_back(fmt::format(
            "left out {} symbolic link{} to {}, which {} not followed ({}{}); give such a folder as an input to "
            "include it",
            linked_folders.size(), linked_folders.size() == 1 ? "" : "s",
            linked_folders.size() == 1 ? "a folder" : "folders", linked_folders.size() == 1 ? "is" : "are",
            fmt::join(linked_folders.begin(), linked_folders.begin() + static_cast<long>(shown), ", "),
            linked_folders.size() > shown ? ", ..." : ""));
    }
    if (notes.own_outputs > 0)
        result.warnings.push_back(fmt::format("left out {} image{} that aiportrait made (a sidecar beside each says so)",
                                              notes.own_outputs, notes.own_outputs == 1 ? "" : "s"));
    result.nothing_found = candidates.empty();
    if (!notes.unreadable.empty()) {
        int files = 0;
        std::vector<std::string> parts;
        for (const auto& [ext, n] : notes.unreadable) {
            files += n;
            parts.push_back(fmt::format("{} {}", ext, n));
        }
        result.warnings.push_back(fmt::format(
            "left out {} file{} in formats aiportrait cannot read ({}); convert them to JPEG or PNG first", files,
            files == 1 ? "" : "s", fmt::join(parts, ", ")));
    }

    // Assign outputs: mirrored paths, with collisions renamed (never silently overwritten).
    std::map<std::string, std::string> taken;  // output key -> input that took it
    auto refuse = [&](const std::string& input, const std::string& reason) {
        result.rejected.push_back({input, reason, result.jobs.size()});
    };
    for (const Candidate& c : candidates) {
        if (!c.refused.empty()) {
            refuse(c.input, c.refused);
            continue;
        }
        fs::path rel = c.relative_output;
        std::string key = identity_key(out_path / rel);
        if (taken.count(key)) {
            const std::string first = taken[key];
            const std::string original_ext = lower_case(fs::path(c.input).extension().string()).substr(1);
            const fs::path parent = rel.parent_path();
            const std::string stem = rel.stem().string();
            fs::path renamed = parent / (stem + "_" + original_ext + extension);
            for (int n = 2; taken.count(identity_key(out_path / renamed)); ++n)
                renamed = parent / fmt::format("{}_{}_{}{}", stem, original_ext, n, extension);
            result.warnings.push_back(fmt::format("{} and {} would both be written to {}; writing {} instead",
                                                  first, c.input, (out_path / rel).string(),
                                                  (out_path / renamed).string()));
            rel = renamed;
            key = identity_key(out_path / rel);
        }
        const fs::path output = out_path / rel;
        const std::string sidecar = sidecar_path_for(output.string());
        if (!is_inside(output, out_path)) {
            refuse(c.input, fmt::format("output '{}' would fall outside {}", output.string(), out_path.string()));
            continue;
        }
        if (input_keys.count(key) || input_keys.count(identity_key(sidecar))) {
            refuse(c.input, fmt::format("output '{}' would overwrite an input", output.string()));
            continue;
        }
        taken[key] = c.input;
        result.jobs.push_back({c.input, output.string(), sidecar, rel.generic_string()});
    }
    return shard_of(std::move(result), config);
}

}  // namespace aiportrait

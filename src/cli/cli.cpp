// The command line: every flag and subcommand defined with CLI11 and parsed straight into a
// Command; for a run its Config is then checked by validate() (config.cpp). Usage errors are printed
// here and come back as Kind::exit with code 2 (cli.hpp); nothing here opens inputs or models.
#include "aiportrait/cli.hpp"

#include "aiportrait/detectors.hpp"
#include "aiportrait/output.hpp"
#include "aiportrait/version.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iostream>
#include <limits>

namespace aiportrait {
namespace {

// A number within an interval whose open or closed ends the help text shows as they are; NaN
// and infinities fail every such check (CLI11's Range lets NaN through, since every comparison
// with it is false).
CLI::Validator interval(const Interval& range) {
    const std::string text = to_string(range);
    return CLI::Validator(
        [=](std::string& value) -> std::string {
            double v = 0;
            std::size_t used = 0;
            try {
                v = std::stod(value, &used);
            } catch (const std::exception&) {
                return fmt::format("'{}' is not a number", value);
            }
            if (used != value.size() || !std::isfinite(v)) return fmt::format("'{}' is not a finite number", value);
            if (!range.contains(v)) return fmt::format("{} is not in {}", value, text);
            return "";
        },
        "in " + text);
}

// A whole number in lo..hi, said plainly when it is not (CLI11's own range checks print the
// bound of a double: 300 digits).
CLI::Validator whole_number(long long lo, long long hi, const std::string& meaning) {
    // No upper bound worth printing: "0 or more".
    const std::string range = hi >= std::numeric_limits<int>::max() ? fmt::format("{} or more", lo)
                                                                    : fmt::format("in {}..{}", lo, hi);
    return CLI::Validator(
        [=](std::string& value) -> std::string {
            long long v = 0;
            std::size_t used = 0;
            try {
                v = std::stoll(value, &used);
            } catch (const std::exception&) {
                return fmt::format("'{}' is not a whole number", value);
            }
            if (used != value.size()) return fmt::format("'{}' is not a whole number", value);
            if (v < lo || v > hi) return fmt::format("{} is not {}{}", value, range, meaning);
            return "";
        },
        range);
}

// A word -> enum option, parsed straight into the enum. Like CLI11's CheckedTransformer, but an
// enum's number ("--device 1") is refused too: only the words are the interface.
template <typename Enum>
CLI::Option* add_choice(CLI::App& app, const std::string& flag, Enum& target,
                        const std::vector<std::pair<std::string, Enum>>& words, const std::string& help) {
    std::string list, current;
    for (const auto& [word, value] : words) {
        list += (list.empty() ? "" : ", ") + word;
        if (value == target) current = word;
    }
    CLI::Validator to_enum(
        [words, list](std::string& value) -> std::string {
            for (const auto& [word, e] : words)
                if (word == value) {
                    value = std::to_string(static_cast<int>(e));
                    return "";
                }
            return fmt::format("'{}' is not one of {}", value, list);
        },
        "{" + list + "}");
    std::string type = flag.substr(2);
    std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::toupper(c); });
    return app.add_option(flag, target, help)->transform(to_enum)->type_name(type)->default_str(current);
}

// Options shared by the main command and `identity`: where models come from and how to detect.
void add_model_options(CLI::App& app, Config& c) {
    app.add_option("--models-dir", c.models_dir,
                   "Folder of fetched models (default: $AIPORTRAIT_MODELS_DIR, else weights/ of the install)");
    std::vector<std::pair<std::string, DetectorChoice>> detectors = {{"auto", DetectorChoice::automatic}};
    std::string help = "Face detector (auto: the first one installed)";
    for (const DetectorEntry& e : detector_table()) {
        detectors.emplace_back(e.name, e.choice);
        help += fmt::format("; {}: {}", e.name, e.summary);
    }
    add_choice(app, "--detector", c.detector, detectors, help);
    app.add_option("--detect-threshold", c.detect_threshold, "Minimum detector score")
        ->check(interval(defaults::detect_threshold_range))
        ->capture_default_str();
    app.add_option("--detect-max-side", c.detect_max_side,
                   "Detect on a copy downscaled to this longer side (0 = full size)")
        ->check(whole_number(0, std::numeric_limits<int>::max(), " (0 = full size)"))
        ->capture_default_str();
    app.add_option("--min-face", c.min_face,
                   "Ignore faces smaller than PX (the box's shorter side; 0 = no minimum): they make blurred portraits")
        ->check(CLI::Range(0, defaults::min_face_most))
        ->option_text("PX=" + std::to_string(c.min_face))
        ->capture_default_str();
    app.add_option("--threads", c.threads,
                   fmt::format("Worker threads (0 = all cores; at most {} x the cores: {})",
                               defaults::threads_per_core_most, max_threads()))
        ->check(whole_number(0, max_threads(),
                             fmt::format(" (0 = all cores; at most {} x the {} cores of this machine)",
                                         defaults::threads_per_core_most, available_cores())));
    app.add_option("--max-pixels", c.max_pixels, "Refuse images with more pixels, checked before decoding (0 = no limit)")
        ->check(whole_number(0, std::numeric_limits<long long>::max(), " (0 = no limit)"))
        ->capture_default_str();
}

}  // namespace

Command parse_command_line(int argc, char** argv) {
    Command cmd;
    Config& c = cmd.config;
    c.command_line.assign(argv, argv + argc);
    CLI::App app{"aiportrait: turns photos of people into GAN-generated portraits.\n"
                 "Writes each portrait plus a JSON sidecar describing what happened.",
                 "aiportrait"};
    bool version = false;
    app.set_version_flag("");
    app.add_flag("--version", version, "Print the version, LibTorch's and OpenCV's, and the default generator's, and exit");
    app.footer(
        "Examples:\n"
        "  aiportrait photo.jpg -o portrait.png           portrait + portrait.json\n"
        "  aiportrait photos/ -o portraits/               mirror a folder tree\n"
        "  cat photo.jpg | aiportrait - -o - > out.png    pipe bytes through\n"
        "  aiportrait identity a.jpg b.jpg                identity distance of two photos\n"
        "  aiportrait photos/ -o portraits/ --gallery     ... and portraits/index.html to look at\n"
        "Exit codes: 0 every input made a portrait, 1 some inputs failed, 2 usage/model error,\n"
        "            130/143 stopped by SIGINT/SIGTERM.");

    bool all_faces = false, paste = false, no_identity = false;
    double strength = -1, target_identity = -1;

    app.add_option("inputs", c.inputs, "Photos, folders (recursed, sorted) or - for standard input");
    app.add_option("-o,--output", c.output, "Output image, output folder, or - for PNG on standard output");
    app.add_option("--files-from", c.files_from, "Read input paths, one per line, from FILE (- = standard input)");
    app.add_flag("-0,--null", c.null_separated, "--files-from paths end with a NUL byte, not a newline (find -print0)");
    app.add_option("--sidecar", c.sidecar, "Sidecar path for a single input (default: output with .json)");
    std::vector<std::pair<std::string, ImageFormat>> formats;
    for (const OutputFormat& f : output_format_table()) formats.emplace_back(f.name, f.format);
    add_choice(app, "--format", c.format, formats, "Image format of outputs written into a folder");
    app.add_flag("--gallery", c.gallery,
                 "After a folder run, write OUTPUT/index.html: every input's photo and portraits, side by side");
    app.add_flag("--json", c.json, "Print one JSON record per input on standard output (NDJSON)");
    app.add_flag("-q,--quiet", c.quiet, "Print nothing but errors");
    app.add_flag("--skip-existing", c.skip_existing, "Skip inputs already done: output and sidecar exist, say ok, and were made with the same model and settings");
    app.add_option("--model", c.model, "TorchScript generator (default: the installed default generator)");
    add_choice(app, "--device", c.device, {{"cpu", Device::cpu}, {"cuda", Device::cuda}},
               "Where the generator and the identity net run");
    auto* all_flag = app.add_flag("--all-faces", all_faces, "One portrait per face: NAME_face1.png, NAME_face2.png, ...");
    app.add_flag("--paste", paste, "The whole photo with every face replaced")->excludes(all_flag);
    auto* strength_opt = app.add_option("--strength", strength, "How much of the original is replaced (default: the model's)")
                             ->check(interval(defaults::strength_range));
    app.add_option("--target-identity", target_identity,
                   "Search each face's strength so its identity distance lands near D (0.6 = same-person limit)")
        ->check(interval(defaults::target_identity_range))
        ->excludes(strength_opt);
    app.add_flag("--no-identity", no_identity, "Skip the identity distance per face");
    app.add_option("--feather", c.feather, "Paste-back falloff, fraction of the face oval")
        ->check(interval(defaults::feather_range))
        ->capture_default_str();
    app.add_option("--grain", c.grain,
                   "Paste-back grain where a face is upscaled: 1 matches the photo's fine texture, 0 = none")
        ->check(interval(defaults::grain_range))
        ->capture_default_str();
    app.add_option("--batch", c.batch,
                   fmt::format("Faces per generator forward, gathered across inputs (default: {} on cpu, {} on cuda)",
                               defaults::batch_cpu, defaults::batch_cuda))
        ->check(CLI::Range(1, defaults::batch_most));
    std::string shard;
    app.add_option("--shard", shard, "Process only shard K of N (K/N, 1-based) of the sorted inputs; shards are disjoint")
        ->check([](const std::string& v) -> std::string {
            int k = 0, n = 0;
            return parse_shard(v, k, n) ? "" : "expected K/N with 1 <= K <= N, got '" + v + "'";
        });
    add_model_options(app, c);

    CLI::App* identity_cmd = app.add_subcommand("identity", "Distance between the largest faces of two photos");
    identity_cmd->add_option("photos", cmd.photos, "Two photos")->required()->expected(2);
    add_model_options(*identity_cmd, c);

    CLI::App* gallery_cmd = app.add_subcommand("gallery", "Rebuild DIR/index.html from the sidecars in output folder DIR");
    gallery_cmd->add_option("dir", cmd.photos, "An output folder of aiportrait")->required()->expected(1);

    // Every usage error reads like the tool's other errors: "aiportrait: error: ...".
    app.failure_message([](const CLI::App* failed, const CLI::Error& e) {
        return "aiportrait: error: " + CLI::FailureMessage::simple(failed, e);
    });
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        cmd.kind = Command::Kind::exit;
        const int code = app.exit(e);  // prints help/version to stdout, errors to stderr
        cmd.exit_code = code == 0 ? 0 : 2;
        return cmd;
    }
    c.kind = paste ? OutputKind::paste : all_faces ? OutputKind::all_faces : OutputKind::portrait;
    if (strength_opt->count()) c.strength = strength;
    if (app.get_option("--target-identity")->count()) c.target_identity = target_identity;
    c.identity = !no_identity;
    if (!shard.empty()) parse_shard(shard, c.shard_index, c.shard_count);  // checked above
    if (version) {
        cmd.kind = Command::Kind::version;
        return cmd;
    }
    if (gallery_cmd->parsed()) {
        cmd.kind = Command::Kind::gallery;
        return cmd;
    }
    if (identity_cmd->parsed()) {
        cmd.kind = Command::Kind::identity;
        return cmd;
    }
    try {
        validate(c);
    } catch (const std::invalid_argument& e) {
        std::cerr << "aiportrait: error: " << e.what() << "\nRun with --help for more information.\n";
        cmd.kind = Command::Kind::exit;
        cmd.exit_code = 2;
    }
    return cmd;
}

}  // namespace aiportrait

#include "aiportrait/pipeline.hpp"

#include "aiportrait/align.hpp"
#include "aiportrait/compose.hpp"
#include "aiportrait/decode.hpp"
#include "aiportrait/detect.hpp"
#include "aiportrait/generator.hpp"
#include "aiportrait/hash.hpp"
#include "aiportrait/identity.hpp"
#include "aiportrait/models.hpp"
#include "aiportrait/output.hpp"
#include "aiportrait/sidecar.hpp"
#include "aiportrait/version.hpp"

#include <fmt/format.h>
#include <opencv2/core/utility.hpp>
#include <opencv2/core/utils/logger.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

namespace fs = std::filesystem;

namespace aiportrait {
namespace {

std::atomic<int> g_stop_signal{0};

// OpenCV logs its decoders' failures as "[ WARN:...]" lines on stderr; every failure already
// becomes one line of ours naming the file, so keep OpenCV to errors unless asked otherwise.
void quieten_opencv() {
    if (!std::getenv("OPENCV_LOG_LEVEL")) cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
}

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Runs `fn`, adding its wall time to `timings` under `stage`.
template <typename Fn>
auto timed(Timings& timings, const char* stage, Fn&& fn) {
    const auto start = Clock::now();
    if constexpr (std::is_void_v<decltype(fn())>) {
        fn();
        timings.add(stage, ms_since(start));
    } else {
        auto result = fn();
        timings.add(stage, ms_since(start));
        return result;
    }
}

// NAME.png -> NAME_face3.png (1-based), for --all-faces.
std::string face_output_path(const std::string& output, std::size_t index) {
    fs::path p(output);
    const std::string ext = p.extension().string();
    return (p.parent_path() / fmt::format("{}_face{}{}", p.stem().string(), index + 1, ext)).string();
}

// A sidecar that exists, parses and says the input was done, beside outputs that look whole,
// so --skip-existing may skip it.
bool completed_before(const Job& job) try {
    if (job.output == "-" || job.sidecar.empty()) return false;
    std::error_code ec;
    if (!fs::is_regular_file(job.sidecar, ec)) return false;
    std::ifstream in(job.sidecar);
    const nlohmann::json record = nlohmann::json::parse(in, nullptr, false);
    if (record.is_discarded() || !record.is_object() || record.value("status", "") != "ok") return false;
    const auto& output = record["output"];
    if (!output.is_object() || output.value("path", "") != job.output) return false;
    const int width = output.value("width", 0), height = output.value("height", 0);
    // --all-faces writes one file per face; every one must be there.
    if (output.value("kind", "") == "all_faces") {
        for (const auto& face : record.value("faces", nlohmann::json::array())) {
            const auto path = face.find("output");
            if (path != face.end() && (!path->is_string() || !looks_complete(path->get<std::string>(), width, height)))
                return false;
        }
        return true;
    }
    return looks_complete(job.output, width, height);
} catch (const nlohmann::json::exception&) {
    return false;  // a sidecar that parses but has fields of the wrong type: not done
}

}  // namespace

void request_stop(int signal) { g_stop_signal.store(signal); }

int RunSummary::exit_code() const {
    if (signal != 0) return 128 + signal;
    return (failed > 0 || no_face > 0) ? 1 : 0;
}

std::string RunSummary::line() const {
    const int done = ok + no_face + failed;
    std::string text = fmt::format("{} input{}: {} ok, {} no face, {} failed", done, done == 1 ? "" : "s", ok,
                                   no_face, failed);
    if (skipped) text += fmt::format(", {} skipped (already done)", skipped);
    if (signal) text += fmt::format(", {} not started (stopped by signal {})", not_started, signal);
    text += fmt::format(" in {:.1f} s", seconds);
    if (seconds > 0 && done > 0) text += fmt::format(" ({:.2f} img/s)", done / seconds);
    return text;
}

struct Pipeline::Impl {
    const Config& config;
    Reporter& reporter;
    std::unique_ptr<FaceDetector> detector;
    std::unique_ptr<Generator> generator;
    std::unique_ptr<IdentityNet> identity;
    RunInfo run_info;

    Impl(const Config& c, Reporter& r) : config(c), reporter(r) {}

    void load_models();
    InputRecord process(const Job& job);
    void generate_faces(const cv::Mat& photo, InputRecord& record, std::vector<GeneratedFace>& out);
    std::vector<double> distances(const std::vector<const GeneratedFace*>& faces,
                                  const std::vector<cv::Mat>& finals) const;
    void write_outputs(const Job& job, const DecodedImage& image, const cv::Mat& visible,
                       std::vector<GeneratedFace>& faces, InputRecord& record);
    void write_sidecar(const Job& job, InputRecord& record);
    void report_outcome(const Job& job, const InputRecord& record, RunSummary& summary);
};

void Pipeline::Impl::load_models() {
    const ModelLocations where = locate_models(config.models_dir);
    const int threads = config.threads > 0 ? config.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    set_inference_threads(threads);
    cv::setNumThreads(threads);
    quieten_opencv();

    // Detector: YuNet when installed (or asked for), else BlazeFace.
    DetectorOptions options;
    options.score_threshold = config.detect_threshold;
    options.max_side = config.detect_max_side;
    std::error_code ec;
    const bool yunet_installed = !where.yunet.empty() && fs::is_regular_file(where.yunet, ec);
    const bool use_yunet = config.detector == DetectorChoice::yunet ||
                           (config.detector == DetectorChoice::automatic && yunet_installed);
    if (where.dir.empty())
        throw std::runtime_error(fmt::format("no models folder found (looked in: {}); run scripts/setup.sh or pass --models-dir",
                                             fmt::join(where.searched, ", ")));
    detector = use_yunet ? make_yunet_detector(where.yunet, options) : make_blazeface_detector(where.blazeface, options);

    // Generator: --model, else the installed default. Never a placeholder.
    std::string model_path = config.model;
    if (model_path.empty()) {
        if (!fs::is_regular_file(where.default_generator, ec))
            throw std::runtime_error(fmt::format(
                "no default generator is installed ({} does not exist); pass --model PATH to a TorchScript "
                "generator (see README, 'Generator contract')",
                where.default_generator));
        model_path = where.default_generator;
    }
    generator = std::make_unique<Generator>(model_path, config.device);

    if (config.identity || config.target_identity) identity = std::make_unique<IdentityNet>(where.face_recognition);

    const GeneratorInfo& g = generator->info();
    run_info.tool_version = kVersion;
    run_info.generator = {{"path", g.path}, {"sha256", g.sha256}, {"name", g.name}, {"version", g.version},
                          {"license", g.license}, {"input_size", g.input_size}, {"margin", g.crop.margin},
                          {"accepts_strength", g.accepts_strength}, {"default_strength", g.default_strength}};
    run_info.detector = {{"name", detector->name()}, {"model_path", detector->model_path()},
                         {"model_sha256", detector->model_sha256()}, {"score_threshold", options.score_threshold},
                         {"nms_iou", options.nms_iou}, {"max_side", options.max_side}};
    run_info.identity = identity ? nlohmann::json{{"net", "face-api.js face recognition (ResNet-34-like, 128-D)"},
                                                  {"model_dir", where.face_recognition},
                                                  {"same_person_below", kSamePersonDistance}}
                                 : nlohmann::json(nullptr);
    run_info.parameters = {
        {"kind", to_string(config.kind)},
        {"detector", to_string(config.detector)},
        {"strength", config.strength ? nlohmann::json(*config.strength) : nlohmann::json(g.default_strength)},
        {"target_identity", config.target_identity ? nlohmann::json(*config.target_identity) : nlohmann::json(nullptr)},
        {"identity", config.identity},
        {"feather", config.feather},
        {"device", config.device},
        {"threads", threads},
        {"format", config.format},
    };
}

std::vector<double> Pipeline::Impl::distances(const std::vector<const GeneratedFace*>& faces,
                                              const std::vector<cv::Mat>& finals) const {
    // Both crops live in the aligned frame, so the input's landmarks mapped through the
    // alignment matrix locate the face in each; the net sees them prepared identically.
    std::vector<cv::Mat> crops;
    for (std::size_t i = 0; i < faces.size(); ++i) {
        Landmarks in_crop;
        for (std::size_t k = 0; k < kNumLandmarks; ++k)
            in_crop[k] = apply_affine(faces[i]->aligned.matrix, faces[i]->landmarks[k]);
        crops.push_back(IdentityNet::prepare_crop(faces[i]->aligned.crop, in_crop));
        crops.push_back(IdentityNet::prepare_crop(finals[i], in_crop));
    }
    const std::vector<Descriptor> d = identity->run(crops);
    std::vector<double> out;
    for (std::size_t i = 0; i < faces.size(); ++i) out.push_back(descriptor_distance(d[2 * i], d[2 * i + 1]));
    return out;
}

// Generates every used face; with --target-identity, searches each face's strength so that its
// identity distance lands near the target (all faces of the photo advance in one batch).
void Pipeline::Impl::generate_faces(const cv::Mat& photo, InputRecord& record, std::vector<GeneratedFace>& out) {
    const GeneratorInfo& g = generator->info();
    std::vector<std::size_t> used;
    for (std::size_t i = 0; i < record.faces.size(); ++i)
        if (record.faces[i].used) used.push_back(i);

    timed(record.timings, "align", [&] {
        for (std::size_t i : used) {
            GeneratedFace f;
            f.landmarks = record.faces[i].face.landmarks;
            f.aligned = align_face(photo, record.faces[i].face, g.crop);
            record.faces[i].alignment = f.aligned.matrix;
            record.faces[i].crop_size = f.aligned.size;
            out.push_back(std::move(f));
        }
    });
    std::vector<cv::Mat> crops;
    for (const GeneratedFace& f : out) crops.push_back(f.aligned.crop);

    const bool by_model = g.accepts_strength;
    record.strength_mode = by_model ? StrengthMode::model : StrengthMode::blend;
    // Models without a strength input: generate once at full strength, then blend the aligned
    // input back in ((1 - s) * input + s * generated) before paste-back.
    std::vector<cv::Mat> full;
    auto render = [&](const std::vector<std::size_t>& which, const std::vector<double>& strengths) {
        std::vector<cv::Mat> result;
        if (by_model) {
            std::vector<cv::Mat> batch;
            for (std::size_t j : which) batch.push_back(crops[j]);
            result = timed(record.timings, "generate", [&] { return generator->run(batch, strengths); });
        } else {
            if (full.empty())
                full = timed(record.timings, "generate",
                             [&] { return generator->run(crops, std::vector<double>(crops.size(), 1.0)); });
            for (std::size_t k = 0; k < which.size(); ++k)
                result.push_back(blend_with_input(crops[which[k]], full[which[k]], strengths[k]));
        }
        return result;
    };

    const double strength = config.strength.value_or(g.default_strength);
    std::vector<std::size_t> all(out.size());
    for (std::size_t j = 0; j < all.size(); ++j) all[j] = j;

    if (!config.target_identity) {
        std::vector<cv::Mat> finals = render(all, std::vector<double>(out.size(), strength));
        for (std::size_t j = 0; j < out.size(); ++j) {
            out[j].generated = finals[j];
            record.faces[used[j]].strength = strength;
        }
        if (identity && config.identity) {
            std::vector<const GeneratedFace*> faces;
            for (const GeneratedFace& f : out) faces.push_back(&f);
            const auto d = timed(record.timings, "identity", [&] { return distances(faces, finals); });
            for (std::size_t j = 0; j < out.size(); ++j) record.faces[used[j]].identity_distance = d[j];
        }
        return;
    }

    // Strength search: regula falsi (Illinois) on distance(strength) - target, which rises
    // with strength for a sensible model. Start at 1 (most different) and 0, keep the closest.
    const double target = *config.target_identity, tolerance = 0.03;
    const int budget = 6;
    struct Search {
        double lo = 0, hi = 1, d_lo = NAN, d_hi = NAN, best_s = 1, best_d = NAN;
        int evals = 0;
        bool done = false;
        int side = 0;  // Illinois: which end was kept last time
    };
    std::vector<Search> search(out.size());
    for (int round = 0; round < budget; ++round) {
        std::vector<std::size_t> active;
        std::vector<double> strengths;
        for (std::size_t j = 0; j < out.size(); ++j) {
            Search& s = search[j];
            if (s.done) continue;
            double next;
            if (s.evals == 0) next = 1.0;
            else if (s.evals == 1) next = 0.0;
            else if (s.d_hi != s.d_lo) next = s.lo + (target - s.d_lo) * (s.hi - s.lo) / (s.d_hi - s.d_lo);
            else next = 0.5 * (s.lo + s.hi);
            next = std::clamp(next, std::min(s.lo, s.hi), std::max(s.lo, s.hi));
            active.push_back(j);
            strengths.push_back(next);
        }
        if (active.empty()) break;
        std::vector<cv::Mat> finals = render(active, strengths);
        std::vector<const GeneratedFace*> probe;
        for (std::size_t j : active) probe.push_back(&out[j]);
        const auto d = timed(record.timings, "identity", [&] { return distances(probe, finals); });
        for (std::size_t k = 0; k < active.size(); ++k) {
            Search& s = search[active[k]];
            const double st = strengths[k], dist = d[k];
            ++s.evals;
            if (std::isnan(s.best_d) || std::abs(dist - target) < std::abs(s.best_d - target)) {
                s.best_d = dist;
                s.best_s = st;
                out[active[k]].generated = finals[k];
            }
            if (std::abs(dist - target) <= tolerance) { s.done = true; continue; }
            if (s.evals == 1) {
                s.hi = st; s.d_hi = dist;
                if (dist < target) s.done = true;  // even full strength stays closer: best reachable
                continue;
            }
            if (s.evals == 2) {
                s.lo = st; s.d_lo = dist;
                if (dist > target) s.done = true;  // even strength 0 is farther: best reachable
                continue;
            }
            if (dist < target) {
                s.lo = st; s.d_lo = dist;
                if (s.side == -1) s.d_hi = target + (s.d_hi - target) / 2;
                s.side = -1;
            } else {
                s.hi = st; s.d_hi = dist;
                if (s.side == 1) s.d_lo = target + (s.d_lo - target) / 2;
                s.side = 1;
            }
        }
    }
    for (std::size_t j = 0; j < out.size(); ++j) {
        FaceRecord& f = record.faces[used[j]];
        f.strength = search[j].best_s;
        f.identity_distance = search[j].best_d;
        f.strength_evaluations = search[j].evals;
    }
}

// `visible` is the photo composited on white (decode.hpp): portraits are cut from it, so they
// never depend on the colour of transparent pixels. --paste keeps the photo's own colours and
// alpha when the format can carry alpha, and writes the visible photo when it cannot (JPEG).
void Pipeline::Impl::write_outputs(const Job& job, const DecodedImage& image, const cv::Mat& visible,
                                   std::vector<GeneratedFace>& faces, InputRecord& record) {
    auto emit = [&](const std::string& path, const cv::Mat& bgr, const cv::Mat& alpha) {
        const auto bytes = timed(record.timings, "encode", [&] { return encode_image(bgr, alpha, path); });
        timed(record.timings, "write", [&] {
            if (path == "-") write_stdout(bytes);
            else write_file_atomic(path, bytes);
        });
    };
    const int size = faces.front().aligned.size;
    switch (config.kind) {
        case OutputKind::portrait:
            emit(job.output, faces.front().generated, cv::Mat());
            record.output_width = record.output_height = size;
            break;
        case OutputKind::all_faces: {
            std::size_t k = 0;
            for (std::size_t i = 0; i < record.faces.size(); ++i) {
                if (!record.faces[i].used) continue;
                const std::string path = job.output == "-" ? "-" : face_output_path(job.output, i);
                emit(path, faces[k++].generated, cv::Mat());
                record.faces[i].output_path = path;
            }
            record.output_width = record.output_height = size;
            break;
        }
        case OutputKind::paste: {
            const bool with_alpha = !image.alpha.empty() && keeps_alpha(job.output);
            const cv::Mat pasted = timed(record.timings, "compose", [&] {
                return paste_faces(with_alpha ? image.bgr : visible, faces, generator->info().crop, config.feather);
            });
            emit(job.output, pasted, with_alpha ? image.alpha : cv::Mat());
            record.output_width = pasted.cols;
            record.output_height = pasted.rows;
            break;
        }
    }
    record.output = job.output;
}

void Pipeline::Impl::write_sidecar(const Job& job, InputRecord& record) {
    if (job.sidecar.empty()) return;
    record.sidecar = job.sidecar;
    write_file_atomic(job.sidecar, make_record(record, run_info).dump(2) + "\n");
}

InputRecord Pipeline::Impl::process(const Job& job) {
    InputRecord record;
    record.input = job.input;
    record.kind = config.kind;
    record.strength_mode = generator->info().accepts_strength ? StrengthMode::model : StrengthMode::blend;
    DecodedImage image;
    try {
        const auto bytes = timed(record.timings, "read",
                                 [&] { return read_input_bytes(job.input, max_file_bytes(config.max_pixels)); });
        record.input_sha256 = timed(record.timings, "hash", [&] { return sha256_hex(bytes.data(), bytes.size()); });
        image = timed(record.timings, "decode", [&] { return decode_image(bytes, config.max_pixels); });
        record.width = image.bgr.cols;
        record.height = image.bgr.rows;
        record.exif_orientation = image.exif_orientation;
        record.source_format = image.source_format;
        record.warnings = image.warnings;
        const cv::Mat visible = composite_on_white(image.bgr, image.alpha);

        const std::vector<Face> faces = timed(record.timings, "detect", [&] { return detector->run(visible); });
        for (const Face& f : faces) { FaceRecord r; r.face = f; record.faces.push_back(r); }
        if (faces.empty()) {
            record.status = Status::no_face;
            record.error = "no face found";
        } else {
            // Faces come most prominent first: a portrait uses that one, the other kinds use all.
            for (std::size_t i = 0; i < record.faces.size(); ++i)
                record.faces[i].used = config.kind != OutputKind::portrait || i == 0;
            std::vector<GeneratedFace> generated;
            generate_faces(visible, record, generated);
            write_outputs(job, image, visible, generated, record);
            record.status = Status::ok;
        }
    } catch (const std::exception& e) {
        std::string what = e.what();
        record.status = Status::error;
        record.error = what.substr(0, what.find('\n'));
    }
    try {
        write_sidecar(job, record);
    } catch (const std::exception& e) {
        if (record.status == Status::ok) {
            // The portrait without its sidecar would look done to --skip-existing: retract it.
            std::error_code ec;
            if (record.output != "-") fs::remove(record.output, ec);
            record.output.clear();
        }
        record.status = Status::error;
        std::string what = e.what();
        record.error = what.substr(0, what.find('\n'));
    }
    return record;
}

// One line on stderr per input that needs attention, naming it once: its error (and what the
// decoder recovered from on the way), or, for a portrait made from a damaged file, a warning.
void Pipeline::Impl::report_outcome(const Job& job, const InputRecord& record, RunSummary& summary) {
    std::string warnings;
    for (const std::string& w : record.warnings) warnings += (warnings.empty() ? "" : "; ") + w;
    const std::string also = warnings.empty() ? "" : " (also: " + warnings + ")";
    switch (record.status) {
        case Status::ok:
            ++summary.ok;
            if (!warnings.empty()) reporter.warning(fmt::format("{}: {}", job.input == "-" ? "<stdin>" : job.input, warnings));
            break;
        case Status::no_face: ++summary.no_face; reporter.error(job.input, "no face found" + also); break;
        case Status::error: ++summary.failed; reporter.error(job.input, record.error + also); break;
    }
}

Pipeline::Pipeline(const Config& config, Reporter& reporter) : impl_(std::make_unique<Impl>(config, reporter)) {
    impl_->load_models();
}

Pipeline::~Pipeline() = default;

RunSummary Pipeline::run(const Discovery& discovery) {
    Impl& p = *impl_;
    const auto start = Clock::now();
    RunSummary summary;
    for (const RejectedInput& r : discovery.rejected) {
        p.reporter.error(r.input, r.reason);
        ++summary.failed;
    }
    std::set<std::string> cleaned;
    const int total = static_cast<int>(discovery.jobs.size());
    for (int i = 0; i < total; ++i) {
        if (const int sig = g_stop_signal.load()) {
            summary.signal = sig;
            summary.not_started = total - i;
            break;
        }
        const Job& job = discovery.jobs[static_cast<std::size_t>(i)];
        if (job.output != "-") {
            // A run killed before may have left temporaries beside its outputs.
            const std::string dir = fs::path(job.output).parent_path().string();
            if (cleaned.insert(dir).second && !dir.empty()) remove_stale_temporaries(dir);
        }
        if (p.config.skip_existing && completed_before(job)) {
            ++summary.skipped;
            p.reporter.progress(i + 1, total);
            continue;
        }
        const InputRecord record = p.process(job);
        p.report_outcome(job, record, summary);
        p.reporter.record(make_record(record, p.run_info));
        p.reporter.progress(i + 1, total);
    }
    if (!summary.signal && g_stop_signal.load()) summary.signal = g_stop_signal.load();
    p.reporter.finish_progress();
    summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return summary;
}


int compare_identity(const Config& config, const std::string& photo_a, const std::string& photo_b,
                     Reporter& reporter) {
    const ModelLocations where = locate_models(config.models_dir);
    if (where.dir.empty())
        throw std::runtime_error(fmt::format("no models folder found (looked in: {}); run scripts/setup.sh or pass --models-dir",
                                             fmt::join(where.searched, ", ")));
    const int threads = config.threads > 0 ? config.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    set_inference_threads(threads);
    quieten_opencv();
    DetectorOptions options;
    options.score_threshold = config.detect_threshold;
    options.max_side = config.detect_max_side;
    std::error_code ec;
    const bool use_yunet = config.detector == DetectorChoice::yunet ||
                           (config.detector == DetectorChoice::automatic && fs::is_regular_file(where.yunet, ec));
    const auto detector = use_yunet ? make_yunet_detector(where.yunet, options) : make_blazeface_detector(where.blazeface, options);
    const IdentityNet net(where.face_recognition);

    std::vector<cv::Mat> crops;
    for (const std::string& photo : {photo_a, photo_b}) {
        try {
            const DecodedImage image =
                decode_image(read_input_bytes(photo, max_file_bytes(config.max_pixels)), config.max_pixels);
            const cv::Mat visible = composite_on_white(image.bgr, image.alpha);
            const std::vector<Face> faces = detector->run(visible);
            if (faces.empty()) {
                reporter.error(photo, "no face found");
                return 1;
            }
            crops.push_back(IdentityNet::prepare_crop(visible, faces.front().landmarks));
        } catch (const std::exception& e) {
            std::string what = e.what();
            reporter.error(photo, what.substr(0, what.find('\n')));
            return 1;
        }
    }
    const std::vector<Descriptor> d = net.run(crops);
    const double distance = descriptor_distance(d[0], d[1]);
    fmt::print("{:.4f} {}\n", distance, distance < kSamePersonDistance ? "same" : "different");
    return 0;
}

}  // namespace aiportrait

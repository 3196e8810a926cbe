#include "aiportrait/pipeline.hpp"
#include "aiportrait/util.hpp"

#include "aiportrait/align.hpp"
#include "aiportrait/bounded_queue.hpp"
#include "aiportrait/models.hpp"
#include "aiportrait/output.hpp"
#include "aiportrait/version.hpp"
#include "pipeline_impl.hpp"

#include <fmt/format.h>
#include <opencv2/core/utility.hpp>
#include <opencv2/core/utils/logger.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
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

// The models folder, or a configuration error naming where it looked.
ModelLocations find_models(const Config& config) {
    const ModelLocations where = locate_models(config.models_dir);
    if (where.dir.empty())
        throw std::runtime_error(fmt::format("no models folder found (looked in: {}); run scripts/setup.sh or pass --models-dir",
                                             fmt::join(where.searched, ", ")));
    return where;
}

// Threads for LibTorch and OpenCV: --threads, else every core. Returns the count.
int configure_threads(const Config& config) {
    const int threads =
        config.threads > 0 ? config.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    set_inference_threads(threads);
    cv::setNumThreads(threads);
    quieten_opencv();
    return threads;
}

// YuNet when installed (or asked for), else BlazeFace. Fills `options` as the detector runs them.
std::unique_ptr<FaceDetector> make_detector(const Config& config, const ModelLocations& where, DetectorOptions& options) {
    options.score_threshold = config.detect_threshold;
    options.max_side = config.detect_max_side;
    options.min_face = config.min_face;
    // A portrait uses only the most prominent face; the other kinds need every face.
    options.main_face_only = config.kind == OutputKind::portrait;
    std::error_code ec;
    const bool use_yunet = config.detector == DetectorChoice::yunet ||
                           (config.detector == DetectorChoice::automatic && fs::is_regular_file(where.yunet, ec));
    return use_yunet ? make_yunet_detector(where.yunet, options) : make_blazeface_detector(where.blazeface, options);
}

}  // namespace

void request_stop(int signal) { g_stop_signal.store(signal); }

int RunSummary::exit_code() const {
    if (signal != 0) return 128 + signal;
    return (failed > 0 || no_face > 0 || records_lost) ? 1 : 0;
}

std::string RunSummary::line() const {
    const int inputs = ok + no_face + failed + skipped + not_started;
    std::string text = fmt::format("{} input{}: {} ok, {} no face, {} failed", inputs, inputs == 1 ? "" : "s", ok,
                                   no_face, failed);
    if (skipped) text += fmt::format(", {} skipped (already done)", skipped);
    if (signal) text += fmt::format(", {} not started (stopped by signal {})", not_started, signal);
    // The rate of portraits made, over the whole run including model loading; a run that made
    // none has no rate worth printing.
    text += fmt::format(" in {:.1f} s", seconds);
    if (seconds > 0 && ok > 0) text += fmt::format(" ({:.2f} portraits/s)", ok / seconds);
    if (records_lost) text += "; --json records lost (standard output failed)";
    return text;
}

void Pipeline::Impl::load_models() {
    const ModelLocations where = find_models(config);
    threads = configure_threads(config);
    DetectorOptions options;
    detector = make_detector(config, where, options);
    std::error_code ec;

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

    if (config.identity || config.target_identity) identity = std::make_unique<IdentityNet>(where.face_recognition, config.device);

    const GeneratorInfo& g = generator->info();
    run_info.tool_version = kVersion;
    run_info.generator = {{"path", g.path}, {"sha256", g.sha256}, {"name", g.name}, {"version", g.version},
                          {"license", g.license}, {"input_size", g.input_size}, {"margin", g.crop.margin},
                          {"accepts_strength", g.accepts_strength}, {"default_strength", g.default_strength}};
    run_info.detector = {{"name", detector->name()}, {"model_path", detector->model_path()},
                         {"model_sha256", detector->model_sha256()}, {"score_threshold", options.score_threshold},
                         {"nms_iou", options.nms_iou}, {"max_side", options.max_side},
                         {"min_face", options.min_face}, {"main_face_only", options.main_face_only}};
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
        {"batch", generator_batch(config)},
        {"threads", threads},
        {"format", config.format},
    };
}

void Pipeline::Impl::report_outcome(const Work& work, RunSummary& summary) const {
    const InputRecord& record = work.record;
    const std::string& input = work.job.input;
    std::string warnings;
    for (const std::string& w : record.warnings) warnings += (warnings.empty() ? "" : "; ") + w;
    const std::string also = warnings.empty() ? "" : " (also: " + warnings + ")";
    switch (record.status) {
        case Status::ok:
            ++summary.ok;
            // A portrait made from a damaged file: say what the decoder recovered from.
            if (!warnings.empty()) reporter.warning(fmt::format("{}: {}", input == "-" ? "<stdin>" : input, warnings));
            break;
        case Status::no_face: ++summary.no_face; reporter.error(input, record.error + also); break;
        case Status::error: ++summary.failed; reporter.error(input, record.error + also); break;
    }
}

Pipeline::Pipeline(const Config& config, Reporter& reporter)
    : impl_(std::make_unique<Impl>(config, reporter)), created_(Clock::now()) {
    impl_->load_models();
}

Pipeline::~Pipeline() = default;

RunSummary Pipeline::run(const Discovery& discovery) {
    Impl& p = *impl_;
    RunSummary summary;
    // Refused before reading (missing, not a regular file, would overwrite an input): an error
    // line and a --json record each, so every input has a record. No sidecar: there is no output
    // for one to sit beside.
    for (const RejectedInput& r : discovery.rejected) {
        p.reporter.error(r.input, r.reason);
        ++summary.failed;
        InputRecord record;
        record.input = r.input;
        record.kind = p.config.kind;
        record.error = r.reason;
        p.reporter.record(make_record(record, p.run_info));
    }
    const int total = static_cast<int>(discovery.jobs.size());
    const std::size_t batch = static_cast<std::size_t>(generator_batch(p.config));

    // Three stages on three threads, joined by bounded queues so the generator is never starved
    // and memory stays flat: prepare (read/decode/detect/align) -> generate (batched across
    // inputs) -> finish (identity, compose, encode, write). One thread per stage keeps records in
    // input order.
    BoundedQueue<std::unique_ptr<Work>> prepared(2 * batch), generated(2 * batch);
    std::atomic<int> started{0};

    std::thread preparer([&] {
        std::set<std::string> cleaned;
        for (int i = 0; i < total; ++i) {
            if (g_stop_signal.load()) break;  // stop taking inputs; in-flight work finishes
            auto work = std::make_unique<Work>();
            work->job = discovery.jobs[static_cast<std::size_t>(i)];
            started.store(i + 1);
            if (work->job.output != "-") {
                // A run killed before may have left temporaries beside its outputs.
                const std::string dir = fs::path(work->job.output).parent_path().string();
                if (!dir.empty() && cleaned.insert(dir).second) remove_stale_temporaries(dir);
            }
            p.prepare(*work);  // with --skip-existing, it may find the input done
            if (!prepared.push(std::move(work))) break;
        }
        prepared.close();
    });

    std::thread generator([&] {
        for (;;) {
            auto first = prepared.pop();
            if (!first) break;
            // Batch faces across whatever inputs are already waiting; never wait for more.
            std::vector<std::unique_ptr<Work>> group;
            std::size_t faces = (*first)->faces.size();
            group.push_back(std::move(*first));
            while (faces < batch) {
                auto next = prepared.try_pop();
                if (!next) break;
                faces += (*next)->faces.size();
                group.push_back(std::move(*next));
            }
            std::vector<Work*> view;
            for (auto& w : group) view.push_back(w.get());
            p.generate(view);
            for (auto& w : group) generated.push(std::move(w));
        }
        generated.close();
    });

    int done = 0;
    while (auto item = generated.pop()) {
        Work& work = **item;
        ++done;
        if (work.skipped) {
            ++summary.skipped;
        } else {
            p.finish(work);
            p.report_outcome(work, summary);
            p.reporter.record(make_record(work.record, p.run_info));
        }
        p.reporter.progress(done, total);
    }
    preparer.join();
    generator.join();

    if (const int sig = g_stop_signal.load()) {
        summary.signal = sig;
        summary.not_started = total - started.load();
    }
    p.reporter.finish_progress();
    summary.records_lost = p.reporter.records_lost();
    summary.seconds = std::chrono::duration<double>(Clock::now() - created_).count();
    return summary;
}

int compare_identity(const Config& config, const std::string& photo_a, const std::string& photo_b,
                     Reporter& reporter) {
    const ModelLocations where = find_models(config);
    configure_threads(config);
    DetectorOptions options;
    const auto detector = make_detector(config, where, options);
    const IdentityNet net(where.face_recognition, config.device);

    std::vector<cv::Mat> crops;
    for (const std::string& photo : {photo_a, photo_b}) {
        try {
            const DecodedImage image =
                decode_image(read_input_bytes(photo, max_file_bytes(config.max_pixels)), config.max_pixels);
            const cv::Mat visible = composite_on_white(image.bgr, image.alpha);
            const Detection found = detector->detect(visible);
            if (found.faces.empty()) {
                reporter.error(photo, no_face_message(found, config.min_face));
                return 1;
            }
            crops.push_back(IdentityNet::prepare_crop(visible, found.faces.front().landmarks));
        } catch (const std::exception& e) {
            std::string what = e.what();
            reporter.error(photo, first_line(what));
            return 1;
        }
    }
    const std::vector<Descriptor> d = net.run(crops);
    const double distance = descriptor_distance(d[0], d[1]);
    const std::string line = fmt::format("{:.4f} {}\n", distance, distance < kSamePersonDistance ? "same" : "different");
    try {
        write_stdout(std::vector<std::uint8_t>(line.begin(), line.end()));
    } catch (const std::exception& e) {
        reporter.error("", e.what());  // the one result of the command is lost: not success
        return 1;
    }
    return 0;
}

}  // namespace aiportrait

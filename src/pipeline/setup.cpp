// Before any work: the models folder, threads, the detector, the generator and the identity net,
// and the run's facts every record carries. Any failure here is a configuration or model error
// (exit 2) naming the file or option at fault.
#include "aiportrait/setup.hpp"

#include "aiportrait/detectors.hpp"
#include "aiportrait/face_check.hpp"
#include "aiportrait/generator.hpp"
#include "aiportrait/pipeline.hpp"
#include "stages.hpp"

#include <fmt/format.h>
#include <opencv2/core/utility.hpp>
#include <opencv2/core/utils/logger.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace aiportrait {
namespace {

// OpenCV logs its decoders' failures as "[ WARN:...]" lines on stderr; every failure already
// becomes one line of ours naming the file, so keep OpenCV to errors unless asked otherwise.
void quieten_opencv() {
    if (!std::getenv("OPENCV_LOG_LEVEL")) cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
}

}  // namespace

ModelLocations find_models(const Config& config) {
    const ModelLocations where = locate_models(config.models_dir);
    if (where.dir.empty())
        throw std::runtime_error(fmt::format("no models folder found (looked in: {}); run scripts/setup.sh or pass --models-dir",
                                             fmt::join(where.searched, ", ")));
    return where;
}

int configure_threads(const Config& config) {
    const int cores = available_cores();
    const int threads = config.threads > 0 ? config.threads : cores;
    set_inference_threads(threads);
    // OpenCV's pool (TBB on Debian) never runs more workers than there are cores; asking it for
    // more only makes TBB print a warning on stderr, past --quiet.
    cv::setNumThreads(std::min(threads, cores));
    quieten_opencv();
    return threads;
}

std::unique_ptr<FaceDetector> make_detector(const Config& config, const ModelLocations& where) {
    DetectorOptions options;
    options.score_threshold = config.detect_threshold;
    options.max_side = config.detect_max_side;
    options.min_face = config.min_face;
    // A portrait uses only the most prominent face; the other kinds need every face.
    options.main_face_only = config.kind == OutputKind::portrait;
    const std::vector<DetectorEntry>& table = detector_table();
    const DetectorEntry* chosen = &table.back();  // auto with nothing installed: the last one's load error
    if (config.detector != DetectorChoice::automatic) {
        chosen = &detector_entry(config.detector);
    } else {
        for (const DetectorEntry& e : table) {
            std::error_code ec;
            if (fs::is_regular_file(where.file(e.model_file), ec)) {
                chosen = &e;
                break;
            }
        }
    }
    // Every detector's faces get the second opinion: one detector alone portrays clouds and boats.
    auto check = std::make_shared<const FaceCheck>(where.file(kFaceCheckModelFile));
    std::unique_ptr<FaceDetector> every_view;
    if (options.main_face_only) {
        DetectorOptions all = options;
        all.main_face_only = false;
        every_view = chosen->make(where.file(chosen->model_file), all);
    }
    return with_second_opinion(chosen->make(where.file(chosen->model_file), options), std::move(check),
                               std::move(every_view));
}

void Pipeline::Impl::load_models() {
    const ModelLocations where = find_models(config);
    threads = configure_threads(config);
    detector = make_detector(config, where);
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

    const bool with_identity = config.identity || config.target_identity;
    if (with_identity) identity = std::make_unique<IdentityNet>(where.face_recognition, config.device);
    run_info = describe_run(config, generator->info(), *detector, with_identity ? where.face_recognition : "", threads);
}

}  // namespace aiportrait

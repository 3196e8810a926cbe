// libFuzzer target over the path every input file takes before the generator: bytes -> decode ->
// detect (YuNet) -> sidecar record. Built with clang by scripts/fuzz.sh (CMake option
// AIPORTRAIT_FUZZ), with AddressSanitizer and UndefinedBehaviorSanitizer.
//
// Besides crashes, it treats as bugs what the pipeline relies on: decode errors are
// std::runtime_error with a one-line message (anything else escaping is reported by libFuzzer as
// an uncaught exception), a decoded image is non-empty 8-bit BGR with a matching alpha, and the
// sidecar record survives a JSON round trip (no NaN, valid UTF-8).
#include "aiportrait/decode.hpp"
#include "aiportrait/detect.hpp"
#include "aiportrait/sidecar.hpp"

#include <opencv2/core/utils/logger.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace {

using namespace aiportrait;

// Fuzz inputs are small, and so must be the images they claim to be: keeps every run quick and
// memory bounded (the tool's own default is 150 MP).
constexpr long long kMaxPixels = 4'000'000;

[[noreturn]] void bug(const char* what) {
    std::fprintf(stderr, "fuzz_decode_detect: %s\n", what);
    std::abort();
}

const FaceDetector& detector() {
    static const std::unique_ptr<FaceDetector> d = [] {
        const char* path = std::getenv("AIPORTRAIT_FUZZ_YUNET");
        if (!path || !*path) {
            std::fprintf(stderr, "fuzz_decode_detect: set AIPORTRAIT_FUZZ_YUNET to the YuNet .onnx\n");
            std::exit(2);
        }
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);  // as the tool does
        DetectorOptions options;
        options.max_side = 640;  // the pyramid's finest level: enough for fuzz-sized images
        return make_yunet_detector(path, options);
    }();
    return *d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::vector<std::uint8_t> bytes(data, data + size);
    (void)peek_header(bytes);
    InputRecord record;
    record.input = "fuzz-input";
    try {
        const DecodedImage image = decode_image(bytes, kMaxPixels);
        if (image.bgr.empty() || image.bgr.type() != CV_8UC3) bug("decoded image is not 8-bit BGR");
        if (!image.alpha.empty() && (image.alpha.type() != CV_8UC1 || image.alpha.size() != image.bgr.size()))
            bug("alpha does not match the image");
        if (image.exif_orientation < 1 || image.exif_orientation > 8) bug("orientation outside 1..8");
        record.width = image.bgr.cols;
        record.height = image.bgr.rows;
        record.exif_orientation = image.exif_orientation;
        record.source_format = image.source_format;
        record.warnings = image.warnings;
        const cv::Mat visible = composite_on_white(image.bgr, image.alpha);
        for (const Face& face : detector().run(visible)) {
            FaceRecord f;
            f.face = face;
            record.faces.push_back(f);
        }
        record.status = record.faces.empty() ? Status::no_face : Status::ok;
    } catch (const std::runtime_error& e) {
        record.status = Status::error;
        record.error = e.what();
        if (record.error.empty() || record.error.find('\n') != std::string::npos) bug("error message is not one line");
    }
    // The sidecar must serialise and read back as the same record.
    const nlohmann::json j = make_record(record, RunInfo{});
    std::string text;
    try {
        text = j.dump(2);
    } catch (const nlohmann::json::exception&) {
        bug("sidecar record does not serialise (invalid UTF-8?)");
    }
    if (nlohmann::json::parse(text, nullptr, false) != j) bug("sidecar record does not survive a round trip");
    return 0;
}

// Benchmark: bare generator forward, the ceiling the CLI pipeline is measured against. Detects
// and aligns the main face of each photo exactly as the CLI does, then times only
// Generator::run over those crops, batch by batch. Not a test: timings vary.
//
//   build/bench_generator MODEL MODELS_DIR PHOTO... [--threads N] [--batch B] [--repeat R]
#include "aiportrait/align.hpp"
#include "aiportrait/decode.hpp"
#include "aiportrait/detect.hpp"
#include "aiportrait/detectors.hpp"
#include "aiportrait/generator.hpp"

#include <fmt/format.h>
#include <opencv2/core/utility.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace aiportrait;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    if (argc < 4) {
        fmt::print(stderr, "usage: {} MODEL MODELS_DIR PHOTO... [--threads N] [--batch B] [--repeat R]\n", argv[0]);
        return 2;
    }
    const std::string model = argv[1], models = argv[2];
    std::vector<std::string> photos;
    int threads = static_cast<int>(std::thread::hardware_concurrency()), batch = 4, repeat = 1;
    for (int i = 3; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
        else if (a == "--batch" && i + 1 < argc) batch = std::stoi(argv[++i]);
        else if (a == "--repeat" && i + 1 < argc) repeat = std::stoi(argv[++i]);
        else photos.push_back(a);
    }
    set_inference_threads(threads);
    cv::setNumThreads(threads);
    const Generator generator(model);
    const auto detector = make_yunet_detector(models + "/" + detector_entry(DetectorChoice::yunet).model_file, {});
    std::vector<cv::Mat> crops;
    for (const std::string& p : photos) {
        const DecodedImage image = decode_image(read_input_bytes(p), 0);
        const auto faces = detector->run(image.bgr);
        if (!faces.empty()) crops.push_back(align_face(image.bgr, faces.front(), generator.info().crop).crop);
    }
    if (crops.empty()) {
        fmt::print(stderr, "no faces found\n");
        return 1;
    }
    const double strength = generator.info().default_strength;
    generator.run({crops.front()}, {strength});  // warm-up (TorchScript profiles its first runs)
    generator.run({crops.front()}, {strength});
    std::size_t faces = 0;
    const auto start = Clock::now();
    for (int r = 0; r < repeat; ++r) {
        for (std::size_t i = 0; i < crops.size(); i += static_cast<std::size_t>(batch)) {
            const std::size_t end = std::min(crops.size(), i + static_cast<std::size_t>(batch));
            const std::vector<cv::Mat> group(crops.begin() + static_cast<long>(i), crops.begin() + static_cast<long>(end));
            generator.run(group, std::vector<double>(group.size(), strength));
            faces += group.size();
        }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    fmt::print("bare generator: {} faces in {:.2f} s = {:.2f} faces/s ({:.1f} ms/face; {} threads, batch {}, model {})\n",
               faces, seconds, faces / seconds, 1000.0 * seconds / faces, threads, batch, generator.info().name);
    return 0;
}

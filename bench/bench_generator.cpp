// Benchmark: bare generator forward, the ceiling the CLI pipeline is measured against. Detects
// and aligns the main face of each photo exactly as the CLI does, then times only
// Generator::run over those crops, batch by batch. Not a test: timings vary.
//
//   build/bench_generator MODEL MODELS_DIR PHOTO... [--threads N] [--batch B] [--repeat R]
#include "bench_common.hpp"

#include "aiportrait/align.hpp"
#include "aiportrait/generator.hpp"

#include <fmt/format.h>
#include <opencv2/core/utility.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace aiportrait;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    const bench::Arguments args =
        bench::parse_arguments(argc, argv, 3, 1, true, "MODEL MODELS_DIR PHOTO... [--threads N] [--batch B] [--repeat R]");
    const int threads = args.threads, batch = args.batch, repeat = args.repeat;
    set_inference_threads(threads);
    cv::setNumThreads(threads);
    const Generator generator(args.positional[0]);
    std::vector<cv::Mat> crops;
    for (const bench::PhotoFace& p : bench::main_faces(args.positional[1], {args.positional.begin() + 2, args.positional.end()}))
        crops.push_back(align_face(p.bgr, p.face, generator.info().crop).crop);
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

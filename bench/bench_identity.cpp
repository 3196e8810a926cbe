// Benchmark: identity-distance cost per face (prepare two crops + descriptors + distance), the
// work --no-identity saves. Target: <= 30 ms per face on 2 cores. Not a test: timings vary.
//
//   build/bench_identity MODELS_DIR PHOTO... [--threads N] [--repeat R]
#include "aiportrait/decode.hpp"
#include "aiportrait/detect.hpp"
#include "aiportrait/detectors.hpp"
#include "aiportrait/generator.hpp"
#include "aiportrait/identity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace aiportrait;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    if (argc < 3) {
        fmt::print(stderr, "usage: {} MODELS_DIR PHOTO... [--threads N] [--repeat R]\n", argv[0]);
        return 2;
    }
    const std::string models = argv[1];
    std::vector<std::string> photos;
    int threads = static_cast<int>(std::thread::hardware_concurrency()), repeat = 5;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
        else if (a == "--repeat" && i + 1 < argc) repeat = std::stoi(argv[++i]);
        else photos.push_back(a);
    }
    set_inference_threads(threads);
    const auto detector = make_yunet_detector(models + "/" + detector_entry(DetectorChoice::yunet).model_file, {});
    const IdentityNet net(models + "/face-api");

    // One (photo, landmarks) pair per photo's main face.
    std::vector<std::pair<cv::Mat, Landmarks>> faces;
    for (const std::string& p : photos) {
        const DecodedImage image = decode_image(read_input_bytes(p), 0);
        const auto found = detector->run(image.bgr);
        if (!found.empty()) faces.emplace_back(image.bgr, found.front().landmarks);
    }
    if (faces.empty()) {
        fmt::print(stderr, "no faces found in the given photos\n");
        return 1;
    }
    net.run({IdentityNet::prepare_crop(faces[0].first, faces[0].second)});  // warm-up

    for (const int batch_faces : {1, 8}) {
        std::vector<double> per_face_ms;
        for (int r = 0; r < repeat; ++r) {
            for (std::size_t start = 0; start < faces.size(); start += batch_faces) {
                const auto t0 = Clock::now();
                std::vector<cv::Mat> crops;
                const std::size_t end = std::min(faces.size(), start + batch_faces);
                // The pipeline compares two crops (input and portrait) per face.
                for (std::size_t i = start; i < end; ++i) {
                    crops.push_back(IdentityNet::prepare_crop(faces[i].first, faces[i].second));
                    crops.push_back(IdentityNet::prepare_crop(faces[i].first, faces[i].second));
                }
                const auto d = net.run(crops);
                volatile double sink = descriptor_distance(d[0], d[1]);
                (void)sink;
                per_face_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() /
                                      static_cast<double>(end - start));
            }
        }
        std::sort(per_face_ms.begin(), per_face_ms.end());
        fmt::print("identity distance, {} face(s) per batch, {} threads: median {:.1f} ms/face, p90 {:.1f} ms/face "
                   "({} faces x {} repeats; target <= 30 ms)\n",
                   batch_faces, threads, per_face_ms[per_face_ms.size() / 2],
                   per_face_ms[per_face_ms.size() * 9 / 10], faces.size(), repeat);
    }
    return 0;
}

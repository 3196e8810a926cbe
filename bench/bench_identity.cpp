// Benchmark: identity-distance cost per face (prepare two crops + descriptors + distance), the
// work --no-identity saves. Target: <= 30 ms per face on 2 cores. Not a test: timings vary.
//
//   build/bench_identity MODELS_DIR PHOTO... [--threads N] [--repeat R]
#include "bench_common.hpp"

#include "aiportrait/generator.hpp"
#include "aiportrait/identity.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace aiportrait;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    const bench::Arguments args = bench::parse_arguments(argc, argv, 2, 5, false, "MODELS_DIR PHOTO... [--threads N] [--repeat R]");
    const int threads = args.threads, repeat = args.repeat;
    set_inference_threads(threads);
    const IdentityNet net(args.positional[0] + "/face-api");
    const std::vector<bench::PhotoFace> faces =
        bench::main_faces(args.positional[0], {args.positional.begin() + 1, args.positional.end()});
    if (faces.empty()) {
        fmt::print(stderr, "no faces found in the given photos\n");
        return 1;
    }
    net.run({IdentityNet::prepare_crop(faces[0].bgr, faces[0].face.landmarks)});  // warm-up

    for (const int batch_faces : {1, 8}) {
        std::vector<double> per_face_ms;
        for (int r = 0; r < repeat; ++r) {
            for (std::size_t start = 0; start < faces.size(); start += batch_faces) {
                const auto t0 = Clock::now();
                std::vector<cv::Mat> crops;
                const std::size_t end = std::min(faces.size(), start + batch_faces);
                // The pipeline compares two crops (input and portrait) per face.
                for (std::size_t i = start; i < end; ++i) {
                    crops.push_back(IdentityNet::prepare_crop(faces[i].bgr, faces[i].face.landmarks));
                    crops.push_back(IdentityNet::prepare_crop(faces[i].bgr, faces[i].face.landmarks));
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

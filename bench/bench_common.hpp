// What the C++ benchmarks share: their command line and each photo's main face, found with the
// YuNet file of the detector table as the CLI finds it. Benchmarks, not tests: timings vary.
#pragma once

#include "aiportrait/decode.hpp"
#include "aiportrait/detect.hpp"
#include "aiportrait/detectors.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace aiportrait::bench {

struct Arguments {
    std::vector<std::string> positional;  // the usage's leading names, then the photos
    int threads = static_cast<int>(std::thread::hardware_concurrency());
    int batch = 4;  // faces per forward, the CLI's CPU default
    int repeat = 1;
};

// `usage` names the positional arguments and the flags a benchmark takes (--batch only when
// `takes_batch`); it is printed, and the program exits 2, when fewer than `least` positional
// arguments are given or a number is not one.
inline Arguments parse_arguments(int argc, char** argv, std::size_t least, int repeat, bool takes_batch,
                                 const std::string& usage) {
    Arguments a;
    a.repeat = repeat;
    const auto fail = [&] {
        fmt::print(stderr, "usage: {} {}\n", argv[0], usage);
        std::exit(2);
    };
    const auto number = [&](int& i) {
        if (i + 1 >= argc) fail();
        char* end = nullptr;
        const long v = std::strtol(argv[++i], &end, 10);
        if (*end != '\0' || v < 1 || v > 4096) fail();
        return static_cast<int>(v);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--threads") a.threads = number(i);
        else if (arg == "--batch" && takes_batch) a.batch = number(i);
        else if (arg == "--repeat") a.repeat = number(i);
        else if (arg.rfind("--", 0) == 0) fail();  // a flag this benchmark does not take
        else a.positional.push_back(arg);
    }
    if (a.positional.size() < least) fail();
    return a;
}

struct PhotoFace {
    cv::Mat bgr;
    Face face;
};

// The most prominent face of each photo that has one; a photo that cannot be read ends the
// benchmark (exit 1) with its name.
inline std::vector<PhotoFace> main_faces(const std::string& models_dir, const std::vector<std::string>& photos) {
    const auto detector = make_yunet_detector(models_dir + "/" + detector_entry(DetectorChoice::yunet).model_file, {});
    std::vector<PhotoFace> faces;
    for (const std::string& p : photos) {
        try {
            const DecodedImage image = decode_image(read_input_bytes(p), 0);
            const auto found = detector->run(image.bgr);
            if (!found.empty()) faces.push_back({image.bgr, found.front()});
        } catch (const std::exception& e) {
            fmt::print(stderr, "{}: {}\n", p, e.what());
            std::exit(1);
        }
    }
    return faces;
}

}  // namespace aiportrait::bench

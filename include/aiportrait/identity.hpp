// Identity yardstick: the face-api.js face recognition net (ResNet-34-like, 128-D descriptor),
// run with LibTorch from the npm package's own manifest and weight file.
#pragma once

#include "aiportrait/types.hpp"

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace aiportrait {

using Descriptor = std::array<float, 128>;

// Two descriptors of the same person are usually closer than this (face-api.js convention).
inline constexpr double kSamePersonDistance = 0.6;

double descriptor_distance(const Descriptor& a, const Descriptor& b);

class IdentityNet {
public:
    // model_dir holds face_recognition_model-weights_manifest.json and the weight file(s) it
    // names. Throws std::runtime_error naming the path on any missing/inconsistent file, or when
    // asked for CUDA that this LibTorch does not have.
    explicit IdentityNet(const std::string& model_dir, Device device = Device::cpu);
    ~IdentityNet();
    IdentityNet(const IdentityNet&) = delete;
    IdentityNet& operator=(const IdentityNet&) = delete;

    // The 150x150 BGR crop the net expects, cut from `bgr` around a face given by its five
    // landmarks (face-api's alignDlib box, rebuilt from eye and mouth centres).
    static cv::Mat prepare_crop(const cv::Mat& bgr, const Landmarks& landmarks);

    // Descriptors for crops made by prepare_crop(), batched.
    std::vector<Descriptor> run(const std::vector<cv::Mat>& crops) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace aiportrait

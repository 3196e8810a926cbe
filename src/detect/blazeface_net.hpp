// What the two MediaPipe BlazeFace networks share (detect_blazeface.cpp: full-range 256 px, the
// detector; face_check.cpp: short-range 128 px, the second opinion): the same SSD anchor layout
// (a 16x16 grid with 2 anchors per cell, then an 8x8 grid with 6; fixed anchor size, so the
// regressors are plain offsets in net pixels), four outputs and the score's sigmoid.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <array>
#include <mutex>
#include <string>
#include <vector>

namespace aiportrait::blazeface {

constexpr int kNumRegressors = 16;  // box cx, cy, w, h, then 6 keypoints as (x, y)
constexpr int kFineAnchors = 16 * 16 * 2;   // 512
constexpr int kCoarseAnchors = 8 * 8 * 6;   // 384

// Anchor centres in net pixels of a `net_size` input, in the order of the network's outputs:
// row-major cells, and within a cell all of its anchors (they share the centre).
std::vector<cv::Point2f> anchor_centres(int net_size);

// MediaPipe clips the logit to +-100 before the sigmoid; it keeps exp() finite.
float sigmoid_score(float logit);

// One of the two networks, loaded through cv::dnn and checked: a dummy pass on a `size` input
// finds which output is which by shape (names differ between conversions) and proves the file is
// this network. Throws std::runtime_error naming the path and `kind` ("BlazeFace full-range
// 256x256") when the file is missing, cannot be loaded or is another network.
class Network {
public:
    Network(const std::string& path, int size, const std::string& kind);

    struct Outputs {
        cv::Mat fine_scores, coarse_scores, fine_boxes, coarse_boxes;
    };
    // One NHWC input, a size x size CV_32FC3 RGB image in [-1, 1] (its interleaved memory is
    // already that layout). One at a time: cv::dnn::Net::forward mutates the net. One view per
    // call: the full-range model pads channels with a batch-1 constant, so OpenCV 4.6 refuses
    // a batch.
    Outputs forward(const cv::Mat& input) const;
    int size() const { return size_; }

private:
    int size_;
    mutable cv::dnn::Net net_;
    mutable std::mutex mutex_;
    std::vector<std::string> names_;
    std::array<int, 4> order_{};  // index in names_ of fine/coarse scores, fine/coarse boxes
};

}  // namespace aiportrait::blazeface

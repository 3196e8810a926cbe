// What the two MediaPipe BlazeFace networks share (detect_blazeface.cpp: full-range 256 px, the
// detector; face_check.cpp: short-range 128 px, the second opinion): the same SSD anchor layout
// (a 16x16 grid with 2 anchors per cell, then an 8x8 grid with 6; fixed anchor size, so the
// regressors are plain offsets in net pixels), four outputs and the score's sigmoid.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <array>
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

// Which of `names` (the net's four unconnected outputs) is fine scores, coarse scores, fine boxes,
// coarse boxes, found by shape on a dummy NHWC input of `net_size` (names differ between
// conversions); the pass also proves the file is this network. Throws std::runtime_error or
// cv::Exception (a wrong input size) otherwise.
std::array<int, 4> output_order(cv::dnn::Net& net, const std::vector<std::string>& names, int net_size);

}  // namespace aiportrait::blazeface

// Small helpers several stages share.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace aiportrait {

// The first line of a message: every error becomes one line naming its file, and library
// exceptions (OpenCV, LibTorch) carry whole backtraces after theirs.
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// width x height scaled by `factor`, rounded, at least 1 x 1 (a resize target OpenCV accepts).
inline cv::Size scaled_size(double width, double height, double factor) {
    return {std::max(1, static_cast<int>(std::lround(width * factor))),
            std::max(1, static_cast<int>(std::lround(height * factor)))};
}

// `image` area-downsampled so that its longer side is `side`; `image` itself when that side is
// not larger. The explicit size keeps a 20000x10 strip from rounding to zero rows (which throws).
inline cv::Mat shrink_to_side(const cv::Mat& image, int side) {
    const int longer = std::max(image.cols, image.rows);
    if (side >= longer) return image;
    cv::Mat small;
    cv::resize(image, small, scaled_size(image.cols, image.rows, static_cast<double>(side) / longer), 0, 0,
               cv::INTER_AREA);
    return small;
}

}  // namespace aiportrait

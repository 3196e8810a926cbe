// Small helpers several stages share.
#pragma once

#include <opencv2/core.hpp>

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

}  // namespace aiportrait

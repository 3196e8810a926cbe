// Decode stage internals (used by decode.cpp only): JPEG and PNG decoded with libjpeg and libpng
// directly. OpenCV's own JPEG/PNG readers let the libraries print to stderr ("Corrupt JPEG data",
// "libpng error") and return a silently incomplete image for a truncated JPEG; here every message
// is caught, errors become exceptions and recovered damage becomes a warning.
#pragma once

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace aiportrait::codecs {

struct Decoded {
    cv::Mat pixels;     // CV_8UC1 gray, CV_8UC2 gray+alpha, CV_8UC3 BGR or CV_8UC4 BGRA
    int bits = 8;       // bits per sample in the file
    std::string color;  // the file's colour model: gray, color, palette, cmyk, ycck (+alpha)
    std::vector<std::string> warnings;  // damage the decoder recovered from, one line each
    cv::Size stored_size;  // the image's size in the file; pixels are smaller with scale_denom > 1
};

// Both throw std::runtime_error with a one-line reason. max_pixels (> 0) is checked against
// the dimensions the decoder reads from the header, before any pixel is decoded. JPEG's
// scale_denom (1, 2, 4, 8) is libjpeg's DCT scaling: the IDCT computes the smaller image
// directly, each side ceil(side / scale_denom).
Decoded decode_jpeg(const std::uint8_t* data, std::size_t size, long long max_pixels, int scale_denom = 1);
Decoded decode_png(const std::uint8_t* data, std::size_t size, long long max_pixels);

}  // namespace aiportrait::codecs

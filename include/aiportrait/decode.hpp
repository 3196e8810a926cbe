// Decode stage: bytes -> upright 8-bit BGR (+ alpha), whatever the file's depth, channels and
// EXIF orientation.
#pragma once

#include "aiportrait/types.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace aiportrait {

// Reads a whole file (or standard input for "-"). Throws std::runtime_error naming the path.
std::vector<std::uint8_t> read_input_bytes(const std::string& path);

struct ImageHeader {
    std::string format;  // "jpeg", "png", "bmp", "webp", "tiff", "pnm" or "unknown"
    int width = 0;       // 0 when the header does not say (or format unknown)
    int height = 0;
};

// Identifies the format and dimensions from the first bytes only, so oversized images can be
// refused before they are decoded.
ImageHeader peek_header(const std::vector<std::uint8_t>& bytes);

// EXIF orientation (1..8) of a JPEG, 1 when absent or unreadable.
int exif_orientation(const std::vector<std::uint8_t>& bytes);

// Rotates/flips an image so that an image stored with `orientation` is shown upright.
cv::Mat apply_orientation(const cv::Mat& image, int orientation);

// Throws std::runtime_error with a one-line reason (no path: the caller adds it) if the bytes
// are empty, not an image, too large (max_pixels > 0) or cannot be decoded.
DecodedImage decode_image(const std::vector<std::uint8_t>& bytes, long long max_pixels);

}  // namespace aiportrait

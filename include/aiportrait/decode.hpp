// Decode stage: bytes -> upright 8-bit BGR (+ alpha), whatever the file's depth, channels and
// EXIF orientation. JPEG and PNG are decoded with libjpeg/libpng directly, so that damage the
// decoder recovers from becomes a warning in the sidecar instead of text on stderr; other formats
// go through OpenCV.
#pragma once

#include "aiportrait/types.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace aiportrait {

// Reads a whole file (or standard input for "-"). Throws std::runtime_error naming the path,
// with the system's reason, if it cannot be read or holds more than max_bytes (0 = no limit).
std::vector<std::uint8_t> read_input_bytes(const std::string& path, std::uint64_t max_bytes = 0);

// The largest file an image within --max-pixels can plausibly be (uncompressed 16-byte pixels
// plus room for metadata), so a huge non-image is refused before it is read. 0 = no limit.
std::uint64_t max_file_bytes(long long max_pixels);

// The formats decode_image reads, as their first bytes say.
enum class SourceFormat { unknown, jpeg, png, bmp, webp, tiff, pnm };
const char* to_string(SourceFormat format);  // "jpeg", ..., "unknown"

struct ImageHeader {
    SourceFormat format = SourceFormat::unknown;
    int width = 0;       // 0 when the header does not say (or format unknown)
    int height = 0;      // (sizes beyond INT_MAX saturate, so they still fail --max-pixels)
};

// Identifies the format and dimensions from the first bytes only, so oversized images can be
// refused before they are decoded.
ImageHeader peek_header(const std::vector<std::uint8_t>& bytes);

// EXIF orientation (1..8) of a JPEG (APP1), PNG (eXIf) or WebP (EXIF chunk); 1 when absent or
// unreadable.
int exif_orientation(const std::vector<std::uint8_t>& bytes);

// Rotates/flips an image so that an image stored with `orientation` is shown upright.
cv::Mat apply_orientation(const cv::Mat& image, int orientation);

// Throws std::runtime_error with a one-line reason (no path: the caller adds it) if the bytes
// are empty, not an image, too large (max_pixels > 0) or cannot be decoded. Damage the decoder
// recovers from (a truncated JPEG, corrupt scan data, a bad ancillary PNG chunk) is listed in
// DecodedImage::warnings, one line each. A JPEG with scale_denom 2, 4 or 8 is decoded that many
// times smaller (libjpeg's DCT scaling, much cheaper than decoding and resizing); other formats
// ignore it. DecodedImage::scale_denom and photo_size say what came out.
DecodedImage decode_image(const std::vector<std::uint8_t>& bytes, long long max_pixels, int scale_denom = 1);

// The largest DCT scale (1, 2, 4 or 8) at which a JPEG's longer side stays at least
// min_long_side pixels; 1 for other formats, unknown sizes and min_long_side <= 0.
int jpeg_scale_denom(const ImageHeader& header, int min_long_side);

// The image as it looks over white: alpha composited away (bgr itself when alpha is empty).
// Detection, alignment and portraits use this view, so pixels hidden by alpha = 0 (whose colour
// is arbitrary) cannot change the result.
cv::Mat composite_on_white(const cv::Mat& bgr, const cv::Mat& alpha);

}  // namespace aiportrait

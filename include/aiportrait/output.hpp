// Encode stage: images and sidecars to bytes, and bytes to files atomically (temporary file in
// the target folder, then rename), so no reader ever sees half a file.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace aiportrait {

// Encodes by the extension of `path_for_format` (.png lossless; .jpg/.jpeg quality 95; .webp
// lossless; "-" is PNG). A non-empty alpha (CV_8UC1, same size) is kept for PNG/WebP and dropped
// for JPEG (callers composite first: see keeps_alpha). Throws std::runtime_error naming the
// format on failure.
std::vector<std::uint8_t> encode_image(const cv::Mat& bgr, const cv::Mat& alpha, const std::string& path_for_format);

// True for the names encode_image can write: .png, .jpg, .jpeg, .webp (any case).
bool is_writable_image_path(const std::string& path);
inline constexpr const char* kWritableImageFormats = "PNG (.png), JPEG (.jpg, .jpeg) or WebP (.webp)";

// True when encode_image keeps an alpha channel for this path's format (PNG, WebP, "-").
bool keeps_alpha(const std::string& path_for_format);

// Writes bytes to `path` atomically: a temporary file in the same folder, flushed to disk, then
// renamed over `path`, so a reader (or a run killed at any moment) sees the old file, the new
// one, or none, never a part. Creates parent folders; refuses to replace anything that is not
// a regular file (a device, a folder). Throws std::runtime_error naming the path (disk full,
// permission, ...); on failure no file and no temporary remain.
void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes);
void write_file_atomic(const std::string& path, const std::string& text);

// Writes bytes to standard output, all or throw.
void write_stdout(const std::vector<std::uint8_t>& bytes);

// Temporary files are named ".NAME.aiportrait-tmp.HOST.PID.XXXXXX". Removes those in `dir`
// left by processes of this host that no longer run (a run killed with SIGKILL), and returns
// how many it removed. Temporaries of live processes (a parallel shard) are left alone.
int remove_stale_temporaries(const std::string& dir);

}  // namespace aiportrait

// Encode stage: images and sidecars to bytes, and bytes to files atomically (temporary file in
// the target folder, then rename), so no reader ever sees half a file.
#pragma once

#include "aiportrait/types.hpp"

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace aiportrait {

// The list of output formats: the one place that names them. Adding one is a row in
// src/output/output.cpp's table and an ImageFormat value; the CLI (--format), folder runs'
// extension, the checks on -o names and the encoder read it.
struct OutputFormat {
    ImageFormat format;
    const char* name;                     // --format value and the sidecar's parameters.format
    const char* label;                    // for messages: "PNG"
    std::vector<std::string> extensions;  // lower case, with the dot; folder runs write the first
    bool keeps_alpha;                     // --paste keeps the photo's transparency
    std::vector<int> encode_params;       // cv::imencode's (compression, quality, lossless)
};
const std::vector<OutputFormat>& output_format_table();
const OutputFormat& output_format(ImageFormat format);
// The format a file name's extension names (any case; "-" = standard output = PNG), or nullptr.
const OutputFormat* output_format_for(const std::string& path);
// "PNG (.png), JPEG (.jpg, .jpeg) or WebP (.webp)", for messages.
std::string writable_formats_text();

// Encodes by the format `path_for_format`'s extension names (output_format_for). A non-empty
// alpha (CV_8UC1, same size) is kept where the format keeps alpha and dropped otherwise (callers
// composite first: see keeps_alpha). Throws std::runtime_error naming the format on failure.
std::vector<std::uint8_t> encode_image(const cv::Mat& bgr, const cv::Mat& alpha, const std::string& path_for_format);

// True for the names encode_image can write.
inline bool is_writable_image_path(const std::string& path) { return output_format_for(path) != nullptr; }

// True when encode_image keeps an alpha channel for this path's format (PNG, WebP, "-").
inline bool keeps_alpha(const std::string& path_for_format) {
    const OutputFormat* f = output_format_for(path_for_format);
    return f && f->keeps_alpha;
}

// Writes bytes to `path` atomically: a temporary file in the same folder, flushed to disk, then
// renamed over `path`, so a reader (or a run killed at any moment) sees the old file, the new
// one, or none, never a part. Creates parent folders; refuses to replace anything that is not
// a regular file (a device, a folder). Throws std::runtime_error naming the path (disk full,
// permission, ...); on failure no file and no temporary remain.
void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes);
void write_file_atomic(const std::string& path, const std::string& text);

// Writes bytes to standard output, all or throw.
void write_stdout(const std::vector<std::uint8_t>& bytes);

// This machine's name as gethostname() gives it; empty when it cannot be had. The run manifest
// records it; temporaries carry it so a run removes only its own host's leftovers.
std::string host_name();

// --all-faces' file names, the one owner of the pattern: NAME.png -> NAME_face3.png for
// `index` 2 (0-based index, 1-based name).
std::string face_output_path(const std::string& output, std::size_t index);
// The NAME of a NAME_faceN stem (N digits), or "" when `stem` is not one.
std::string face_output_owner(const std::string& stem);

// Temporary files are named ".NAME.aiportrait-tmp.HOST.PID.XXXXXX". Removes those in `dir`
// left by processes of this host that no longer run (a run killed with SIGKILL), and returns
// how many it removed. Temporaries of live processes (a parallel shard) are left alone.
int remove_stale_temporaries(const std::string& dir);

}  // namespace aiportrait

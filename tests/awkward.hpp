// Writers for awkward image files (CMYK JPEG, palette PNG, EXIF orientation, damaged chunks, ...)
// and the awkward corpus built from them. Used by tests/make_awkward_corpus.cpp (the corpus the
// CLI hardening test and scripts/fuzz.sh run on) and by the decode unit tests.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace aiportrait::awkward {

using Bytes = std::vector<std::uint8_t>;

// Baseline JPEG of a BGR or gray image (OpenCV).
Bytes jpeg(const cv::Mat& image, int quality = 90);

// CMYK JPEG as Adobe's writers make it (inverted ink, APP14 marker), through libjpeg.
Bytes cmyk_jpeg(const cv::Mat& bgr, int quality = 90);

// The JPEG with an EXIF APP1 segment carrying `orientation`, inserted after SOI.
Bytes with_exif_orientation(const Bytes& jpeg, int orientation);

// A minimal TIFF structure holding one orientation tag (what EXIF carries).
Bytes exif_tiff(int orientation);

// An uncompressed 8- or 16-bit RGB TIFF of a BGR image whose own IFD carries `orientation` (0x0112),
// as scanners and some cameras write it; written by hand because OpenCV writes no orientation.
Bytes tiff_with_orientation(const cv::Mat& bgr, int orientation);

struct PngChunk {
    std::string type;  // 4 letters
    Bytes data;
    bool bad_crc = false;
};

// PNG of an 8/16-bit image with 1, 2, 3 or 4 channels (BGR order, as OpenCV holds it), written
// chunk by chunk so chunks can be added (`extra`, before IDAT) or damaged.
struct PngOptions {
    std::vector<PngChunk> extra;
    bool bad_idat_crc = false;
    bool iend = true;
};
Bytes png(const cv::Mat& image, const PngOptions& options = {});

// Palette PNG: colours quantised to a 6x7x6 cube; pixels where `alpha` (optional, CV_8UC1) is
// below 128 use a fully transparent palette entry (tRNS).
Bytes palette_png(const cv::Mat& bgr, const cv::Mat& alpha = cv::Mat());

// A PNG whose header claims width x height (8-bit gray) but which holds at most one row of
// data: a decompression bomb as far as any header check can tell.
Bytes png_bomb(std::uint32_t width, std::uint32_t height);

// The JPEG with its frame header (SOF) patched to claim width x height.
Bytes jpeg_with_size(const Bytes& jpeg, int width, int height);

void write_file(const std::filesystem::path& path, const Bytes& bytes);

// One file of the corpus and what aiportrait must make of it.
struct Entry {
    std::string path;    // relative to the corpus folder
    std::string expect;  // ok, warn (ok + a warning), no_face, error, rejected (before decoding)
    std::string reason;  // text the error/warning line must contain
    std::string format;  // text the sidecar's input.format must contain ("" = not checked)
    int orientation = 1;        // EXIF orientation the sidecar must record
    bool alpha = false;         // --paste output must carry the input's alpha
    std::string same_face_as;   // another entry whose largest face box must match (EXIF)
    bool any_face_status = false;  // damaged data: ok or no_face both acceptable
};

// Writes the corpus into `dir` from a photo with a clear face, and returns what each file is.
// small: every image at most 64 px (fuzzing seeds), no file-system oddities.
std::vector<Entry> make_corpus(const cv::Mat& face_photo, const std::filesystem::path& dir, bool small);

}  // namespace aiportrait::awkward

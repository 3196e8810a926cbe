#include "aiportrait/decode.hpp"

#include "decode_codecs.hpp"
#include "decode_header.hpp"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace aiportrait {
namespace {

// Serialises the std::cerr redirection around cv::imdecode (see decode_image).
std::mutex& cerr_capture_mutex() {
    static std::mutex m;
    return m;
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string mib(std::uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }
}  // namespace

std::uint64_t max_file_bytes(long long max_pixels) {
    if (max_pixels <= 0 || max_pixels > (1ll << 56)) return 0;
    return static_cast<std::uint64_t>(max_pixels) * 16 + (64ull << 20);
}

namespace {
// Enough bytes to recognise every signature peek_header and unsupported_format_name know.
constexpr std::size_t kSniffBytes = 64;
}  // namespace

std::vector<std::uint8_t> read_input_bytes(const std::string& path, std::uint64_t max_bytes) {
    const bool is_stdin = path == "-";
    const int fd = is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(fmt::format("cannot open: {}", std::strerror(errno)));
    auto fail = [&](const std::string& why) {
        if (!is_stdin) ::close(fd);
        throw std::runtime_error(why);
    };
    struct stat st {};
    if (::fstat(fd, &st) != 0) fail(fmt::format("cannot open: {}", std::strerror(errno)));
    if (S_ISDIR(st.st_mode)) fail("is a folder, not an image file");
    const bool regular = S_ISREG(st.st_mode);
    auto too_big = [&](std::uint64_t size) {
        fail(fmt::format("file is {}, more than any image within --max-pixels can be ({}); not read", mib(size),
                         mib(max_bytes)));
    };
    if (regular && max_bytes > 0 && static_cast<std::uint64_t>(st.st_size) > max_bytes) too_big(st.st_size);

    std::vector<std::uint8_t> bytes;
    if (regular) bytes.reserve(static_cast<std::size_t>(st.st_size));
    std::uint8_t chunk[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(fmt::format("read error: {}", std::strerror(errno)));
        }
        const bool sniff_now = bytes.size() < kSniffBytes && bytes.size() + static_cast<std::size_t>(n) >= kSniffBytes;
        bytes.insert(bytes.end(), chunk, chunk + n);
        // Standard input and special files can be endless (/dev/zero): what does not start like
        // an image is refused at once, and nothing is read past the limit.
        if (sniff_now && sniff(bytes) == SourceFormat::unknown && unsupported_format_name(bytes).empty())
            fail("not an image (unrecognised file signature)");
        if (max_bytes > 0 && bytes.size() > max_bytes) too_big(bytes.size());
    }
    if (!is_stdin) ::close(fd);
    return bytes;
}


cv::Mat apply_orientation(const cv::Mat& image, int orientation) {
    cv::Mat out;
    switch (orientation) {
        case 2: cv::flip(image, out, 1); break;
        case 3: cv::rotate(image, out, cv::ROTATE_180); break;
        case 4: cv::flip(image, out, 0); break;
        case 5: cv::transpose(image, out); break;
        case 6: cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE); break;
        case 7: cv::transpose(image, out); cv::rotate(out, out, cv::ROTATE_180); break;
        case 8: cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
        default: out = image; break;
    }
    return out;
}

namespace {

void refuse_over_limit(long long width, long long height, long long max_pixels) {
    if (max_pixels > 0 && width * height > max_pixels)
        throw std::runtime_error(fmt::format("{}x{} pixels exceeds --max-pixels {}", width, height, max_pixels));
}

// Refuse before decoding: empty, not an image (naming a known format we cannot read), or larger
// than --max-pixels by its header. Returns the header.
ImageHeader refuse_early(const std::vector<std::uint8_t>& bytes, long long max_pixels) {
    if (bytes.empty()) throw std::runtime_error("empty file (0 bytes)");
    const ImageHeader header = peek_header(bytes);
    if (header.format == SourceFormat::unknown) {
        // Say which well-known format it is when we can tell, so the user knows what to convert.
        const std::string known = unsupported_format_name(bytes);
        if (!known.empty())
            throw std::runtime_error(fmt::format("{} images are not supported; convert to JPEG or PNG first", known));
        throw std::runtime_error("not an image (unrecognised file signature)");
    }
    refuse_over_limit(header.width, header.height, max_pixels);
    return header;
}

// The formats without a decoder of our own, through OpenCV. UNCHANGED keeps alpha and 16-bit
// depth and leaves orientation to us, so we can record it. OpenCV 4.6's imdecode catches its
// codecs' exceptions and writes them to std::cerr itself; that text is caught here, so the one
// error line names the file and the reason.
codecs::Decoded decode_with_opencv(const std::vector<std::uint8_t>& bytes, SourceFormat format) {
    codecs::Decoded raw;
    std::string codec_said;
    try {
        std::lock_guard<std::mutex> lock(cerr_capture_mutex());
        std::ostringstream captured;
        std::streambuf* const previous = std::cerr.rdbuf(captured.rdbuf());
        try {
            raw.pixels = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
        } catch (...) {
            std::cerr.rdbuf(previous);
            throw;
        }
        std::cerr.rdbuf(previous);
        codec_said = captured.str();
    } catch (const cv::Exception& e) {
        throw std::runtime_error(fmt::format("cannot decode {} image: {}", to_string(format), e.err));
    }
    if (raw.pixels.empty()) {
        if (codec_said.find("Unexpected end of input stream") != std::string::npos)
            throw std::runtime_error(fmt::format("truncated {} (the file ends before its image data does)",
                                                 upper(to_string(format))));
        throw std::runtime_error(fmt::format("cannot decode {} image (corrupt or unsupported)", to_string(format)));
    }
    raw.bits = raw.pixels.depth() == CV_16U ? 16 : raw.pixels.depth() == CV_8U ? 8 : 0;
    return raw;
}

// Any depth and channel count -> 8-bit BGR + alpha, upright; source_format says what it was.
DecodedImage normalise(codecs::Decoded raw, SourceFormat format, const std::vector<std::uint8_t>& bytes) {
    cv::Mat& pixels = raw.pixels;
    DecodedImage out;
    std::string depth_name = raw.bits > 0 ? fmt::format("{}-bit", raw.bits) : "float";
    if (pixels.depth() == CV_16U) {
        pixels.convertTo(pixels, CV_8U, 1.0 / 257.0);
    } else if (pixels.depth() == CV_32F || pixels.depth() == CV_64F) {
        pixels.convertTo(pixels, CV_8U, 255.0);  // float images are [0,1]; convertTo saturates
    } else if (pixels.depth() != CV_8U) {
        pixels.convertTo(pixels, CV_8U);
        depth_name = "other-depth";
    }
    std::string model;
    switch (pixels.channels()) {
        case 1:
            cv::cvtColor(pixels, out.bgr, cv::COLOR_GRAY2BGR);
            model = "gray";
            break;
        case 2: {
            std::vector<cv::Mat> planes;
            cv::split(pixels, planes);
            cv::cvtColor(planes[0], out.bgr, cv::COLOR_GRAY2BGR);
            out.alpha = planes[1];
            model = "gray+alpha";
            break;
        }
        case 3:
            out.bgr = pixels;
            model = "color";
            break;
        case 4: {
            cv::cvtColor(pixels, out.bgr, cv::COLOR_BGRA2BGR);
            cv::extractChannel(pixels, out.alpha, 3);
            model = "color+alpha";
            break;
        }
        default:
            throw std::runtime_error(fmt::format("unsupported channel count {}", pixels.channels()));
    }
    // The file's own colour model (palette, cmyk, ...) when its decoder told us.
    out.source_format = fmt::format("{} {} {}", to_string(format), depth_name, raw.color.empty() ? model : raw.color);
    out.warnings = std::move(raw.warnings);
    out.exif_orientation = exif_orientation(bytes);
    // Orientations 5..8 swap the sides.
    out.photo_size = out.exif_orientation >= 5 && format != SourceFormat::tiff
                         ? cv::Size(raw.stored_size.height, raw.stored_size.width) : raw.stored_size;
    // OpenCV's TIFF reader applies the file's own orientation tag itself (8- and 16-bit alike,
    // even with IMREAD_UNCHANGED); we only record it. The other formats come to us as stored.
    if (out.exif_orientation != 1 && format != SourceFormat::tiff) {
        out.bgr = apply_orientation(out.bgr, out.exif_orientation);
        if (!out.alpha.empty()) out.alpha = apply_orientation(out.alpha, out.exif_orientation);
    }
    return out;
}

}  // namespace

DecodedImage decode_image(const std::vector<std::uint8_t>& bytes, long long max_pixels, int scale_denom) {
    if (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 && scale_denom != 8)
        throw std::invalid_argument(fmt::format("decode_image: scale_denom {} is not 1, 2, 4 or 8", scale_denom));
    const ImageHeader header = refuse_early(bytes, max_pixels);
    codecs::Decoded raw;
    if (header.format == SourceFormat::jpeg)
        raw = codecs::decode_jpeg(bytes.data(), bytes.size(), max_pixels, scale_denom);
    else if (header.format == SourceFormat::png) raw = codecs::decode_png(bytes.data(), bytes.size(), max_pixels);
    else raw = decode_with_opencv(bytes, header.format);
    if (raw.stored_size.empty()) raw.stored_size = raw.pixels.size();
    // Again on what was decoded: a header may understate the image.
    refuse_over_limit(raw.stored_size.width, raw.stored_size.height, max_pixels);
    DecodedImage out = normalise(std::move(raw), header.format, bytes);
    out.scale_denom = header.format == SourceFormat::jpeg ? scale_denom : 1;
    return out;
}

int jpeg_scale_denom(const ImageHeader& header, int min_long_side) {
    if (header.format != SourceFormat::jpeg || min_long_side <= 0) return 1;
    const long long longest = std::max(header.width, header.height);
    for (int d : {8, 4, 2})
        if ((longest + d - 1) / d >= min_long_side) return d;
    return 1;
}

cv::Mat composite_on_white(const cv::Mat& bgr, const cv::Mat& alpha) {
    if (alpha.empty()) return bgr;
    cv::Mat out(bgr.size(), CV_8UC3);
    for (int y = 0; y < bgr.rows; ++y) {
        const cv::Vec3b* p = bgr.ptr<cv::Vec3b>(y);
        const std::uint8_t* a = alpha.ptr<std::uint8_t>(y);
        cv::Vec3b* o = out.ptr<cv::Vec3b>(y);
        for (int x = 0; x < bgr.cols; ++x)
            for (int c = 0; c < 3; ++c) o[x][c] = static_cast<std::uint8_t>((p[x][c] * a[x] + 255 * (255 - a[x]) + 127) / 255);
    }
    return out;
}

}  // namespace aiportrait

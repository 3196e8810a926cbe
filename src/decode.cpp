#include "aiportrait/decode.hpp"

#include "decode_codecs.hpp"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

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

std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t(p[0]) << 8) | p[1]; }
std::uint32_t be32(const std::uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
std::uint32_t le16(const std::uint8_t* p) { return (std::uint32_t(p[1]) << 8) | p[0]; }
std::uint32_t le32(const std::uint8_t* p) { return (le16(p + 2) << 16) | le16(p); }

// Header fields are unsigned 32-bit; sizes beyond INT_MAX saturate so --max-pixels still refuses
// them instead of seeing a negative product.
int dimension(std::uint64_t v) { return v > INT_MAX ? INT_MAX : static_cast<int>(v); }

bool starts_with(const std::vector<std::uint8_t>& b, std::initializer_list<std::uint8_t> magic) {
    if (b.size() < magic.size()) return false;
    return std::equal(magic.begin(), magic.end(), b.begin());
}

// The one place that knows each readable format's signature (peek_header, exif_orientation and
// the first-bytes check of read_input_bytes all ask it).
std::string sniff(const std::vector<std::uint8_t>& b) {
    if (starts_with(b, {0xFF, 0xD8, 0xFF})) return "jpeg";
    if (starts_with(b, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return "png";
    if (starts_with(b, {'B', 'M'})) return "bmp";
    if (starts_with(b, {'R', 'I', 'F', 'F'}) && b.size() >= 12 && std::string(b.begin() + 8, b.begin() + 12) == "WEBP")
        return "webp";
    if (starts_with(b, {'I', 'I', 42, 0}) || starts_with(b, {'M', 'M', 0, 42})) return "tiff";
    if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return "pnm";
    return "unknown";
}

std::string mib(std::uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

// Walks JPEG markers until the first start-of-frame; calls `on_app1` for each APP1 segment.
template <typename OnApp1>
void walk_jpeg(const std::vector<std::uint8_t>& b, ImageHeader* header, OnApp1 on_app1) {
    std::size_t pos = 2;
    while (pos + 4 <= b.size()) {
        if (b[pos] != 0xFF) return;
        const std::uint8_t marker = b[pos + 1];
        if (marker == 0xFF) { ++pos; continue; }  // fill byte
        if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { pos += 2; continue; }
        const std::size_t length = be16(&b[pos + 2]);
        if (length < 2 || pos + 2 + length > b.size()) return;
        const std::uint8_t* seg = &b[pos + 4];
        const bool is_sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (is_sof && length >= 7) {
            if (header) { header->height = static_cast<int>(be16(seg + 1)); header->width = static_cast<int>(be16(seg + 3)); }
            return;
        }
        if (marker == 0xE1) on_app1(seg, length - 2);
        if (marker == 0xDA) return;  // start of scan: no frame header seen
        pos += 2 + length;
    }
}

// Calls on_chunk(type, data, length) for each complete PNG chunk until it returns false.
template <typename OnChunk>
void walk_png(const std::vector<std::uint8_t>& b, OnChunk on_chunk) {
    std::size_t pos = 8;
    while (pos + 12 <= b.size()) {
        const std::size_t length = be32(&b[pos]);
        if (length > b.size() - pos - 12) return;
        const std::string type(b.begin() + static_cast<long>(pos) + 4, b.begin() + static_cast<long>(pos) + 8);
        if (!on_chunk(type, &b[pos + 8], length)) return;
        pos += 12 + length;
    }
}

// The orientation tag (0x0112) of the first IFD of a TIFF structure, 0 when absent.
int orientation_from_tiff(const std::uint8_t* tiff, std::size_t size) {
    if (size < 8) return 0;
    const bool little = tiff[0] == 'I' && tiff[1] == 'I' && tiff[2] == 42 && tiff[3] == 0;
    const bool big = tiff[0] == 'M' && tiff[1] == 'M' && tiff[2] == 0 && tiff[3] == 42;
    if (!little && !big) return 0;
    auto u16 = [&](std::size_t off) { return little ? le16(tiff + off) : be16(tiff + off); };
    auto u32 = [&](std::size_t off) { return little ? le32(tiff + off) : be32(tiff + off); };
    const std::size_t ifd = u32(4);
    if (ifd > size - 2) return 0;
    const std::size_t entries = u16(ifd);
    for (std::size_t i = 0; i < entries; ++i) {
        const std::size_t entry = ifd + 2 + 12 * i;
        if (entry > size - 12) return 0;
        if (u16(entry) == 0x0112) {
            const int value = static_cast<int>(u16(entry + 8));
            return value >= 1 && value <= 8 ? value : 0;
        }
    }
    return 0;
}

// EXIF payloads are a TIFF structure, in JPEG always and elsewhere often after "Exif\0\0".
int orientation_from_exif(const std::uint8_t* seg, std::size_t size) {
    if (size >= 6 && std::memcmp(seg, "Exif\0\0", 6) == 0) return orientation_from_tiff(seg + 6, size - 6);
    return orientation_from_tiff(seg, size);
}

// Width and height tags of a TIFF's first IFD.
void tiff_dimensions(const std::vector<std::uint8_t>& b, ImageHeader& h) {
    if (b.size() < 8) return;
    const bool little = b[0] == 'I';
    auto u16 = [&](std::size_t off) { return little ? le16(&b[off]) : be16(&b[off]); };
    auto u32 = [&](std::size_t off) { return little ? le32(&b[off]) : be32(&b[off]); };
    const std::size_t ifd = u32(4);
    if (ifd > b.size() - 2) return;
    const std::size_t entries = u16(ifd);
    for (std::size_t i = 0; i < entries; ++i) {
        const std::size_t entry = ifd + 2 + 12 * i;
        if (entry > b.size() - 12) return;
        const std::uint32_t tag = u16(entry), type = u16(entry + 2);
        const std::uint64_t value = type == 3 ? u16(entry + 8) : type == 4 ? u32(entry + 8) : 0;
        if (tag == 256) h.width = dimension(value);
        if (tag == 257) h.height = dimension(value);
    }
}

// "P6 <width> <height> ..." with '#' comments anywhere between the fields.
void pnm_dimensions(const std::vector<std::uint8_t>& b, ImageHeader& h) {
    std::size_t pos = 2;
    std::uint64_t fields[2] = {0, 0};
    for (std::uint64_t& field : fields) {
        while (pos < b.size() && (std::isspace(b[pos]) || b[pos] == '#')) {
            if (b[pos] == '#') {
                while (pos < b.size() && b[pos] != '\n') ++pos;
            } else {
                ++pos;
            }
        }
        if (pos >= b.size() || !std::isdigit(b[pos])) return;
        while (pos < b.size() && std::isdigit(b[pos]) && field < (1ull << 40)) field = field * 10 + (b[pos++] - '0');
    }
    h.width = dimension(fields[0]);
    h.height = dimension(fields[1]);
}

}  // namespace

std::uint64_t max_file_bytes(long long max_pixels) {
    if (max_pixels <= 0 || max_pixels > (1ll << 56)) return 0;
    return static_cast<std::uint64_t>(max_pixels) * 16 + (64ull << 20);
}

namespace {
std::string unsupported_format_name(const std::vector<std::uint8_t>& b);
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
        if (sniff_now && sniff(bytes) == "unknown" && unsupported_format_name(bytes).empty())
            fail("not an image (unrecognised file signature)");
        if (max_bytes > 0 && bytes.size() > max_bytes) too_big(bytes.size());
    }
    if (!is_stdin) ::close(fd);
    return bytes;
}

namespace {

// Formats this build cannot decode, recognised by their signatures (ISO-BMFF brands for
// HEIF/AVIF, as phones write them).
std::string unsupported_format_name(const std::vector<std::uint8_t>& b) {
    if (starts_with(b, {'G', 'I', 'F', '8'})) return "GIF";
    if (starts_with(b, {'8', 'B', 'P', 'S'})) return "Photoshop (PSD)";
    if (starts_with(b, {0xFF, 0x0A}) || starts_with(b, {0, 0, 0, 0x0C, 'J', 'X', 'L', ' '})) return "JPEG XL";
    if (b.size() >= 12 && std::string(b.begin() + 4, b.begin() + 8) == "ftyp") {
        const std::string brand(b.begin() + 8, b.begin() + 12);
        if (brand == "avif" || brand == "avis") return "AVIF";
        if (brand == "heic" || brand == "heix" || brand == "hevc" || brand == "heim" || brand == "heis" ||
            brand == "mif1" || brand == "msf1")
            return "HEIC/HEIF";
    }
    return "";
}

}  // namespace

ImageHeader peek_header(const std::vector<std::uint8_t>& b) {
    ImageHeader h;
    h.format = sniff(b);
    if (h.format == "jpeg") {
        walk_jpeg(b, &h, [](const std::uint8_t*, std::size_t) {});
    } else if (h.format == "png") {
        if (b.size() >= 24) { h.width = dimension(be32(&b[16])); h.height = dimension(be32(&b[20])); }
    } else if (h.format == "bmp") {
        if (b.size() >= 26) {
            const std::int64_t w = static_cast<std::int32_t>(le32(&b[18])), ht = static_cast<std::int32_t>(le32(&b[22]));
            h.width = dimension(static_cast<std::uint64_t>(w < 0 ? -w : w));
            h.height = dimension(static_cast<std::uint64_t>(ht < 0 ? -ht : ht));  // negative: stored top-down
        }
    } else if (h.format == "webp" && b.size() >= 30) {
        const std::string chunk(b.begin() + 12, b.begin() + 16);
        if (chunk == "VP8X") {
            h.width = 1 + static_cast<int>(b[24] | (b[25] << 8) | (b[26] << 16));
            h.height = 1 + static_cast<int>(b[27] | (b[28] << 8) | (b[29] << 16));
        } else if (chunk == "VP8 ") {
            h.width = static_cast<int>(le16(&b[26]) & 0x3FFF);
            h.height = static_cast<int>(le16(&b[28]) & 0x3FFF);
        } else if (chunk == "VP8L" && b.size() >= 25) {
            const std::uint32_t bits = le32(&b[21]);
            h.width = 1 + static_cast<int>(bits & 0x3FFF);
            h.height = 1 + static_cast<int>((bits >> 14) & 0x3FFF);
        }
    } else if (h.format == "webp") {
        h.format = "unknown";  // too short to hold a VP8 chunk header: as before, not a WebP
    } else if (h.format == "tiff") {
        tiff_dimensions(b, h);
    } else if (h.format == "pnm") {
        pnm_dimensions(b, h);
    }
    return h;
}

int exif_orientation(const std::vector<std::uint8_t>& bytes) {
    int orientation = 0;
    const std::string format = sniff(bytes);
    if (format == "jpeg") {
        walk_jpeg(bytes, nullptr, [&](const std::uint8_t* seg, std::size_t size) {
            if (orientation == 0 && size >= 6 && std::memcmp(seg, "Exif\0\0", 6) == 0)
                orientation = orientation_from_exif(seg, size);
        });
    } else if (format == "png") {
        walk_png(bytes, [&](const std::string& type, const std::uint8_t* data, std::size_t size) {
            if (type == "eXIf") orientation = orientation_from_exif(data, size);
            return type != "eXIf" && type != "IEND";
        });
    } else if (format == "webp") {
        for (std::size_t pos = 12; pos + 8 <= bytes.size();) {
            const std::size_t size = le32(&bytes[pos + 4]);
            if (size > bytes.size() - pos - 8) break;
            if (std::memcmp(&bytes[pos], "EXIF", 4) == 0) {
                orientation = orientation_from_exif(&bytes[pos + 8], size);
                break;
            }
            pos += 8 + size + (size & 1);  // chunks are padded to even sizes
        }
    } else if (format == "tiff") {
        orientation = orientation_from_tiff(bytes.data(), bytes.size());  // the image's own IFD
    }
    return orientation == 0 ? 1 : orientation;
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

DecodedImage decode_image(const std::vector<std::uint8_t>& bytes, long long max_pixels) {
    if (bytes.empty()) throw std::runtime_error("empty file (0 bytes)");
    const ImageHeader header = peek_header(bytes);
    if (header.format == "unknown") {
        // Say which well-known format it is when we can tell, so the user knows what to convert.
        const std::string known = unsupported_format_name(bytes);
        if (!known.empty())
            throw std::runtime_error(fmt::format("{} images are not supported; convert to JPEG or PNG first", known));
        throw std::runtime_error("not an image (unrecognised file signature)");
    }
    if (max_pixels > 0 && static_cast<long long>(header.width) * header.height > max_pixels) {
        throw std::runtime_error(fmt::format("{}x{} pixels exceeds --max-pixels {}", header.width,
                                             header.height, max_pixels));
    }

    codecs::Decoded raw;
    if (header.format == "jpeg") {
        raw = codecs::decode_jpeg(bytes.data(), bytes.size(), max_pixels);
    } else if (header.format == "png") {
        raw = codecs::decode_png(bytes.data(), bytes.size(), max_pixels);
    } else {
        // UNCHANGED keeps alpha and 16-bit depth and leaves orientation to us, so we can record it.
        // OpenCV 4.6's imdecode catches its codecs' exceptions and writes them to std::cerr
        // itself; that text is caught here, so the one error line names the file and the reason.
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
            throw std::runtime_error(fmt::format("cannot decode {} image: {}", header.format, e.err));
        }
        if (raw.pixels.empty()) {
            if (codec_said.find("Unexpected end of input stream") != std::string::npos)
                throw std::runtime_error(fmt::format("truncated {} (the file ends before its image data does)",
                                                     upper(header.format)));
            throw std::runtime_error(fmt::format("cannot decode {} image (corrupt or unsupported)", header.format));
        }
        raw.bits = raw.pixels.depth() == CV_16U ? 16 : raw.pixels.depth() == CV_8U ? 8 : 0;
    }
    cv::Mat& pixels = raw.pixels;
    if (max_pixels > 0 && static_cast<long long>(pixels.cols) * pixels.rows > max_pixels) {
        throw std::runtime_error(fmt::format("{}x{} pixels exceeds --max-pixels {}", pixels.cols, pixels.rows, max_pixels));
    }

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
    out.source_format = fmt::format("{} {} {}", header.format, depth_name, raw.color.empty() ? model : raw.color);
    out.warnings = std::move(raw.warnings);
    out.exif_orientation = exif_orientation(bytes);
    // OpenCV's TIFF reader applies the file's own orientation tag itself (8- and 16-bit alike,
    // even with IMREAD_UNCHANGED); we only record it. The other formats come to us as stored.
    if (out.exif_orientation != 1 && header.format != "tiff") {
        out.bgr = apply_orientation(out.bgr, out.exif_orientation);
        if (!out.alpha.empty()) out.alpha = apply_orientation(out.alpha, out.exif_orientation);
    }
    return out;
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

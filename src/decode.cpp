#include "aiportrait/decode.hpp"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>

namespace aiportrait {
namespace {

std::uint32_t be16(const std::uint8_t* p) { return (std::uint32_t(p[0]) << 8) | p[1]; }
std::uint32_t be32(const std::uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
std::uint32_t le16(const std::uint8_t* p) { return (std::uint32_t(p[1]) << 8) | p[0]; }
std::uint32_t le32(const std::uint8_t* p) { return (le16(p + 2) << 16) | le16(p); }

bool starts_with(const std::vector<std::uint8_t>& b, std::initializer_list<std::uint8_t> magic) {
    if (b.size() < magic.size()) return false;
    return std::equal(magic.begin(), magic.end(), b.begin());
}

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

int orientation_from_exif(const std::uint8_t* seg, std::size_t size) {
    if (size < 14 || std::string(reinterpret_cast<const char*>(seg), 4) != "Exif") return 0;
    const std::uint8_t* tiff = seg + 6;
    const std::size_t tiff_size = size - 6;
    const bool little = tiff[0] == 'I';
    auto u16 = [&](std::size_t off) { return little ? le16(tiff + off) : be16(tiff + off); };
    auto u32 = [&](std::size_t off) { return little ? le32(tiff + off) : be32(tiff + off); };
    const std::size_t ifd = u32(4);
    if (ifd + 2 > tiff_size) return 0;
    const std::size_t entries = u16(ifd);
    for (std::size_t i = 0; i < entries; ++i) {
        const std::size_t entry = ifd + 2 + 12 * i;
        if (entry + 12 > tiff_size) return 0;
        if (u16(entry) == 0x0112) {
            const int value = static_cast<int>(u16(entry + 8));
            return value >= 1 && value <= 8 ? value : 0;
        }
    }
    return 0;
}

}  // namespace

std::vector<std::uint8_t> read_input_bytes(const std::string& path) {
    if (path == "-") {
        std::cin >> std::noskipws;
        std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        return bytes;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(fmt::format("{}: cannot open file", path));
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw std::runtime_error(fmt::format("{}: read error", path));
    return bytes;
}

ImageHeader peek_header(const std::vector<std::uint8_t>& b) {
    ImageHeader h;
    if (starts_with(b, {0xFF, 0xD8, 0xFF})) {
        h.format = "jpeg";
        walk_jpeg(b, &h, [](const std::uint8_t*, std::size_t) {});
    } else if (starts_with(b, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) {
        h.format = "png";
        if (b.size() >= 24) { h.width = static_cast<int>(be32(&b[16])); h.height = static_cast<int>(be32(&b[20])); }
    } else if (starts_with(b, {'B', 'M'})) {
        h.format = "bmp";
        if (b.size() >= 26) {
            h.width = static_cast<int>(static_cast<std::int32_t>(le32(&b[18])));
            h.height = std::abs(static_cast<int>(static_cast<std::int32_t>(le32(&b[22]))));
        }
    } else if (starts_with(b, {'R', 'I', 'F', 'F'}) && b.size() >= 30 && std::string(b.begin() + 8, b.begin() + 12) == "WEBP") {
        h.format = "webp";
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
    } else if (starts_with(b, {'I', 'I', 42, 0}) || starts_with(b, {'M', 'M', 0, 42})) {
        h.format = "tiff";  // dimensions live in an IFD anywhere in the file; the decoder checks
    } else if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') {
        h.format = "pnm";
    } else {
        h.format = "unknown";
    }
    return h;
}

int exif_orientation(const std::vector<std::uint8_t>& bytes) {
    if (!starts_with(bytes, {0xFF, 0xD8, 0xFF})) return 1;
    int orientation = 0;
    walk_jpeg(bytes, nullptr, [&](const std::uint8_t* seg, std::size_t size) {
        if (orientation == 0) orientation = orientation_from_exif(seg, size);
    });
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
    if (bytes.empty()) throw std::runtime_error("empty file");
    const ImageHeader header = peek_header(bytes);
    if (header.format == "unknown") throw std::runtime_error("not an image (unrecognised file signature)");
    if (max_pixels > 0 && static_cast<long long>(header.width) * header.height > max_pixels) {
        throw std::runtime_error(fmt::format("{}x{} pixels exceeds --max-pixels {}", header.width,
                                             header.height, max_pixels));
    }

    // UNCHANGED keeps alpha and 16-bit depth and leaves orientation to us, so we can record it.
    cv::Mat raw;
    try {
        raw = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
        throw std::runtime_error(fmt::format("cannot decode {} image: {}", header.format, e.err));
    }
    if (raw.empty()) throw std::runtime_error(fmt::format("cannot decode {} image (corrupt or unsupported)", header.format));
    if (max_pixels > 0 && static_cast<long long>(raw.cols) * raw.rows > max_pixels) {
        throw std::runtime_error(fmt::format("{}x{} pixels exceeds --max-pixels {}", raw.cols, raw.rows, max_pixels));
    }

    DecodedImage out;
    std::string depth_name = "8-bit";
    if (raw.depth() == CV_16U) {
        raw.convertTo(raw, CV_8U, 1.0 / 257.0);
        depth_name = "16-bit";
    } else if (raw.depth() == CV_32F || raw.depth() == CV_64F) {
        raw.convertTo(raw, CV_8U, 255.0);  // float images are [0,1]; convertTo saturates
        depth_name = "float";
    } else if (raw.depth() != CV_8U) {
        raw.convertTo(raw, CV_8U);
        depth_name = "other-depth";
    }
    switch (raw.channels()) {
        case 1:
            cv::cvtColor(raw, out.bgr, cv::COLOR_GRAY2BGR);
            out.source_format = depth_name + " gray";
            break;
        case 2: {
            std::vector<cv::Mat> planes;
            cv::split(raw, planes);
            cv::cvtColor(planes[0], out.bgr, cv::COLOR_GRAY2BGR);
            out.alpha = planes[1];
            out.source_format = depth_name + " gray+alpha";
            break;
        }
        case 3:
            out.bgr = raw;
            out.source_format = depth_name + " color";
            break;
        case 4: {
            cv::cvtColor(raw, out.bgr, cv::COLOR_BGRA2BGR);
            cv::extractChannel(raw, out.alpha, 3);
            out.source_format = depth_name + " color+alpha";
            break;
        }
        default:
            throw std::runtime_error(fmt::format("unsupported channel count {}", raw.channels()));
    }
    out.source_format = header.format + " " + out.source_format;
    out.exif_orientation = exif_orientation(bytes);
    if (out.exif_orientation != 1) {
        out.bgr = apply_orientation(out.bgr, out.exif_orientation);
        if (!out.alpha.empty()) out.alpha = apply_orientation(out.alpha, out.exif_orientation);
    }
    return out;
}

}  // namespace aiportrait

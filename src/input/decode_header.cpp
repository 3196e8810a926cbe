// The first bytes of a file: which format, how big, which way up. decode.cpp refuses and
// decodes with what these say; nothing here decodes pixels.
#include "decode_header.hpp"

#include <climits>
#include <cstring>
#include <string>

namespace aiportrait {
namespace {

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

// The one place that knows each readable format's signature (peek_header, exif_orientation and
// the first-bytes check of read_input_bytes all ask it).
SourceFormat sniff(const std::vector<std::uint8_t>& b) {
    using F = SourceFormat;
    if (starts_with(b, {0xFF, 0xD8, 0xFF})) return F::jpeg;
    if (starts_with(b, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return F::png;
    if (starts_with(b, {'B', 'M'})) return F::bmp;
    if (starts_with(b, {'R', 'I', 'F', 'F'}) && b.size() >= 12 && std::string(b.begin() + 8, b.begin() + 12) == "WEBP")
        return F::webp;
    if (starts_with(b, {'I', 'I', 42, 0}) || starts_with(b, {'M', 'M', 0, 42})) return F::tiff;
    if (b.size() >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return F::pnm;
    return F::unknown;
}

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

ImageHeader peek_header(const std::vector<std::uint8_t>& b) {
    ImageHeader h;
    h.format = sniff(b);
    if (h.format == SourceFormat::jpeg) {
        walk_jpeg(b, &h, [](const std::uint8_t*, std::size_t) {});
    } else if (h.format == SourceFormat::png) {
        if (b.size() >= 24) { h.width = dimension(be32(&b[16])); h.height = dimension(be32(&b[20])); }
    } else if (h.format == SourceFormat::bmp) {
        if (b.size() >= 26) {
            const std::int64_t w = static_cast<std::int32_t>(le32(&b[18])), ht = static_cast<std::int32_t>(le32(&b[22]));
            h.width = dimension(static_cast<std::uint64_t>(w < 0 ? -w : w));
            h.height = dimension(static_cast<std::uint64_t>(ht < 0 ? -ht : ht));  // negative: stored top-down
        }
    } else if (h.format == SourceFormat::webp && b.size() >= 30) {
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
    } else if (h.format == SourceFormat::webp) {
        h.format = SourceFormat::unknown;  // too short to hold a VP8 chunk header: as before, not a WebP
    } else if (h.format == SourceFormat::tiff) {
        tiff_dimensions(b, h);
    } else if (h.format == SourceFormat::pnm) {
        pnm_dimensions(b, h);
    }
    return h;
}

int exif_orientation(const std::vector<std::uint8_t>& bytes) {
    int orientation = 0;
    const SourceFormat format = sniff(bytes);
    if (format == SourceFormat::jpeg) {
        walk_jpeg(bytes, nullptr, [&](const std::uint8_t* seg, std::size_t size) {
            if (orientation == 0 && size >= 6 && std::memcmp(seg, "Exif\0\0", 6) == 0)
                orientation = orientation_from_exif(seg, size);
        });
    } else if (format == SourceFormat::png) {
        walk_png(bytes, [&](const std::string& type, const std::uint8_t* data, std::size_t size) {
            if (type == "eXIf") orientation = orientation_from_exif(data, size);
            return type != "eXIf" && type != "IEND";
        });
    } else if (format == SourceFormat::webp) {
        for (std::size_t pos = 12; pos + 8 <= bytes.size();) {
            const std::size_t size = le32(&bytes[pos + 4]);
            if (size > bytes.size() - pos - 8) break;
            if (std::memcmp(&bytes[pos], "EXIF", 4) == 0) {
                orientation = orientation_from_exif(&bytes[pos + 8], size);
                break;
            }
            pos += 8 + size + (size & 1);  // chunks are padded to even sizes
        }
    } else if (format == SourceFormat::tiff) {
        orientation = orientation_from_tiff(bytes.data(), bytes.size());  // the image's own IFD
    }
    return orientation == 0 ? 1 : orientation;
}

const char* to_string(SourceFormat format) {
    switch (format) {
        case SourceFormat::jpeg: return "jpeg";
        case SourceFormat::png: return "png";
        case SourceFormat::bmp: return "bmp";
        case SourceFormat::webp: return "webp";
        case SourceFormat::tiff: return "tiff";
        case SourceFormat::pnm: return "pnm";
        case SourceFormat::unknown: break;
    }
    return "unknown";
}

}  // namespace aiportrait

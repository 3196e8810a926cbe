// libjpeg and libpng with every message caught. Both libraries report fatal errors through a
// callback that must not return; as their documentation prescribes, it longjmps back to the
// decode function. Nothing with a destructor lives in the frames it jumps over (only libjpeg's
// and libpng's C frames and the callbacks below), and everything the error path reads was set
// before setjmp or lives in memory the libraries hold a pointer to.
#include "decode_codecs.hpp"

#include <fmt/format.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <jpeglib.h>
#include <png.h>

namespace aiportrait::codecs {
namespace {

// Messages a decoder emitted, deduplicated in order of first appearance: a damaged scan can
// repeat "bad Huffman code" thousands of times.
class MessageLog {
public:
    void add(const char* text) noexcept {
        try {
            for (auto& [message, count] : entries_)
                if (message == text) { ++count; return; }
            if (entries_.size() < 8) entries_.emplace_back(text, 1);
        } catch (...) {  // out of memory: lose the message rather than unwind through C
        }
    }
    std::vector<std::string> lines(const char* library) const {
        std::vector<std::string> out;
        for (const auto& [message, count] : entries_) {
            const std::string times = count > 1 ? fmt::format(", {} times", count) : "";
            std::string what = "decoder warning";
            for (const char* damage : {"Premature end", "Corrupt", "CRC", "ends after"})
                if (message.find(damage) != std::string::npos) what = "damaged data, decoded anyway";
            out.push_back(fmt::format("{} ({}: {}{})", what, library, message, times));
        }
        return out;
    }

private:
    std::vector<std::pair<std::string, int>> entries_;
};

// --- JPEG ----------------------------------------------------------------------------------

// A progressive JPEG needs about 10 scans; thousands of tiny ones only make decoding take
// minutes (a known denial of service), so stop there.
constexpr int kMaxJpegScans = 500;

struct JpegErrors {
    jpeg_error_mgr pub;  // first member: libjpeg only knows this part
    std::jmp_buf jump;
    char reason[JMSG_LENGTH_MAX + 64];
    MessageLog* log;
};

[[noreturn]] void jpeg_on_error(j_common_ptr cinfo) {
    auto* e = reinterpret_cast<JpegErrors*>(cinfo->err);
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    std::snprintf(e->reason, sizeof e->reason, "corrupt or unsupported JPEG (libjpeg: %s)", text);
    std::longjmp(e->jump, 1);
}

// libjpeg's default prints the first warning to stderr; collect them all instead.
void jpeg_on_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;  // trace output
    ++cinfo->err->num_warnings;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    reinterpret_cast<JpegErrors*>(cinfo->err)->log->add(text);
}

void jpeg_on_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    if (reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number <= kMaxJpegScans) return;
    auto* e = reinterpret_cast<JpegErrors*>(cinfo->err);
    std::snprintf(e->reason, sizeof e->reason, "JPEG has more than %d scans (refused: decoding would take too long)",
                  kMaxJpegScans);
    std::longjmp(e->jump, 1);
}

// Naive CMYK -> BGR (no ICC profile: none of our stages is colour-managed). Adobe's writers,
// which produce nearly every CMYK JPEG and mark it with an APP14 segment, store inverted ink.
cv::Mat cmyk_to_bgr(const cv::Mat& cmyk, bool inverted) {
    cv::Mat bgr(cmyk.size(), CV_8UC3);
    for (int y = 0; y < cmyk.rows; ++y) {
        const std::uint8_t* s = cmyk.ptr<std::uint8_t>(y);
        std::uint8_t* d = bgr.ptr<std::uint8_t>(y);
        for (int x = 0; x < cmyk.cols; ++x, s += 4, d += 3) {
            // Stored as ink (0 = none) or, inverted, as what is left of the paper.
            const int c = inverted ? s[0] : 255 - s[0], m = inverted ? s[1] : 255 - s[1];
            const int yl = inverted ? s[2] : 255 - s[2], k = inverted ? s[3] : 255 - s[3];
            d[0] = static_cast<std::uint8_t>((yl * k + 127) / 255);
            d[1] = static_cast<std::uint8_t>((m * k + 127) / 255);
            d[2] = static_cast<std::uint8_t>((c * k + 127) / 255);
        }
    }
    return bgr;
}

// --- PNG -----------------------------------------------------------------------------------

struct PngState {
    std::jmp_buf jump;
    char reason[512];
    char raw[256];  // libpng's own words, for damage found after the pixels
    MessageLog* log;
    const std::uint8_t* data;
    std::size_t size, pos;
    bool truncated;
};

[[noreturn]] void png_on_error(png_structp png, png_const_charp message) {
    auto* s = static_cast<PngState*>(png_get_error_ptr(png));
    std::snprintf(s->raw, sizeof s->raw, "%s", message);
    if (s->truncated)
        std::snprintf(s->reason, sizeof s->reason, "truncated PNG (the file ends before its image data does)");
    else
        std::snprintf(s->reason, sizeof s->reason, "corrupt PNG (libpng: %s)", message);
    std::longjmp(s->jump, 1);
}

void png_on_warning(png_structp png, png_const_charp message) {
    static_cast<PngState*>(png_get_error_ptr(png))->log->add(message);
}

void png_on_read(png_structp png, png_bytep out, png_size_t n) {
    auto* s = static_cast<PngState*>(png_get_io_ptr(png));
    if (n > s->size - s->pos) {
        s->truncated = true;
        png_error(png, "unexpected end of file");
    }
    std::memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

// Colour-management and text chunks: we use none of them, and libpng would only warn about
// their quirks (the famous "iCCP: known incorrect sRGB profile"). Their CRCs are still checked.
constexpr png_byte kIgnoredChunks[] = "iCCP\0sRGB\0gAMA\0cHRM\0tEXt\0zTXt\0iTXt\0";
constexpr int kIgnoredChunkCount = 7;

}  // namespace

Decoded decode_jpeg(const std::uint8_t* data, std::size_t size, long long max_pixels, int scale_denom) {
    Decoded out;
    MessageLog log;
    jpeg_decompress_struct cinfo{};  // zeroed: destroying it is safe even if creating it failed
    JpegErrors errors;
    jpeg_progress_mgr progress{};
    cinfo.err = jpeg_std_error(&errors.pub);
    errors.pub.error_exit = jpeg_on_error;
    errors.pub.emit_message = jpeg_on_message;
    errors.log = &log;
    errors.reason[0] = '\0';
    progress.progress_monitor = jpeg_on_progress;
    if (setjmp(errors.jump)) {
        jpeg_destroy_decompress(&cinfo);
        throw std::runtime_error(errors.reason);
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
    jpeg_read_header(&cinfo, TRUE);
    const long long pixels = static_cast<long long>(cinfo.image_width) * cinfo.image_height;
    if (max_pixels > 0 && pixels > max_pixels) {
        jpeg_destroy_decompress(&cinfo);
        throw std::runtime_error(fmt::format("{}x{} pixels exceeds --max-pixels {}", cinfo.image_width,
                                             cinfo.image_height, max_pixels));
    }
    int channels = 3;
    switch (cinfo.jpeg_color_space) {
        case JCS_GRAYSCALE: cinfo.out_color_space = JCS_GRAYSCALE; channels = 1; out.color = "gray"; break;
        case JCS_CMYK:
        case JCS_YCCK:
            out.color = cinfo.jpeg_color_space == JCS_CMYK ? "cmyk" : "ycck";  // libjpeg turns YCCK into CMYK
            cinfo.out_color_space = JCS_CMYK;
            channels = 4;
            break;
        default: cinfo.out_color_space = JCS_EXT_BGR; out.color = "color"; break;
    }
    out.stored_size = cv::Size(static_cast<int>(cinfo.image_width), static_cast<int>(cinfo.image_height));
    cinfo.scale_num = 1;
    cinfo.scale_denom = static_cast<unsigned int>(scale_denom);
    jpeg_start_decompress(&cinfo);
    try {
        out.pixels.create(static_cast<int>(cinfo.output_height), static_cast<int>(cinfo.output_width), CV_8UC(channels));
    } catch (...) {
        const std::string size_text = fmt::format("{}x{}", cinfo.output_width, cinfo.output_height);
        jpeg_destroy_decompress(&cinfo);
        throw std::runtime_error(size_text + " JPEG does not fit in memory");
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out.pixels.ptr<std::uint8_t>(static_cast<int>(cinfo.output_scanline));
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) break;  // cannot happen with a memory source
    }
    jpeg_finish_decompress(&cinfo);
    const bool inverted = cinfo.saw_Adobe_marker;
    jpeg_destroy_decompress(&cinfo);
    if (channels == 4) out.pixels = cmyk_to_bgr(out.pixels, inverted);
    out.warnings = log.lines("libjpeg");
    return out;
}

Decoded decode_png(const std::uint8_t* data, std::size_t size, long long max_pixels) {
    Decoded out;
    MessageLog log;
    PngState state{};
    state.log = &log;
    state.data = data;
    state.size = size;
    std::vector<png_bytep> rows;
    volatile int stage = 0;  // 2: every pixel is in; damage after that costs nothing
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!info) {
        png_destroy_read_struct(&png, nullptr, nullptr);
        throw std::runtime_error("cannot start the PNG decoder (out of memory)");
    }
    if (setjmp(state.jump)) {
        if (stage != 2) {
            png_destroy_read_struct(&png, &info, nullptr);
            throw std::runtime_error(state.reason);
        }
        log.add(state.truncated ? "file ends after the image data (no IEND chunk)" : state.raw);
    } else {
        png_set_read_fn(png, &state, png_on_read);
        png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, kIgnoredChunks, kIgnoredChunkCount);
        png_read_info(png, info);
        png_uint_32 width = 0, height = 0;
        int depth = 0, type = 0;
        png_get_IHDR(png, info, &width, &height, &depth, &type, nullptr, nullptr, nullptr);
        if (max_pixels > 0 && static_cast<long long>(width) * height > max_pixels) {
            std::snprintf(state.reason, sizeof state.reason, "%ux%u pixels exceeds --max-pixels %lld",
                          static_cast<unsigned>(width), static_cast<unsigned>(height), max_pixels);
            std::longjmp(state.jump, 1);
        }
        const bool trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
        out.bits = depth;
        out.color = type == PNG_COLOR_TYPE_PALETTE ? "palette" : (type & PNG_COLOR_MASK_COLOR) ? "color" : "gray";
        if ((type & PNG_COLOR_MASK_ALPHA) || trns) out.color += "+alpha";
        if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
        if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
        if (trns) png_set_tRNS_to_alpha(png);
        if (depth == 16) png_set_scale_16(png);  // rounds v * 255 / 65535, like our other 16-bit paths
        png_set_bgr(png);
        png_set_interlace_handling(png);
        png_read_update_info(png, info);
        const int channels = png_get_channels(png, info);
        bool no_memory = false;
        try {
            out.pixels.create(static_cast<int>(height), static_cast<int>(width), CV_8UC(channels));
            rows.resize(height);
        } catch (...) {
            no_memory = true;  // jump only once the exception is over
        }
        if (no_memory) {
            std::snprintf(state.reason, sizeof state.reason, "%ux%u PNG does not fit in memory",
                          static_cast<unsigned>(width), static_cast<unsigned>(height));
            std::longjmp(state.jump, 1);  // stage 0: reported as an error
        }
        for (png_uint_32 y = 0; y < height; ++y) rows[y] = out.pixels.ptr<png_byte>(static_cast<int>(y));
        stage = 1;
        png_read_image(png, rows.data());
        stage = 2;
        png_read_end(png, nullptr);
    }
    png_destroy_read_struct(&png, &info, nullptr);
    out.warnings = log.lines("libpng");
    return out;
}

}  // namespace aiportrait::codecs

#include "awkward.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>

#include <jpeglib.h>
#include <sys/stat.h>
#include <zlib.h>

namespace fs = std::filesystem;

namespace aiportrait::awkward {
namespace {

void put32(Bytes& b, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}

Bytes chunk(const std::string& type, const Bytes& data, bool bad_crc) {
    Bytes out;
    put32(out, static_cast<std::uint32_t>(data.size()));
    out.insert(out.end(), type.begin(), type.end());
    out.insert(out.end(), data.begin(), data.end());
    uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(type.data()), 4);
    if (!data.empty()) crc = crc32(crc, data.data(), static_cast<uInt>(data.size()));  // a null buffer resets it
    put32(out, static_cast<std::uint32_t>(crc) ^ (bad_crc ? 0xA5A5A5A5u : 0u));
    return out;
}

Bytes deflate(const Bytes& raw) {
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    Bytes out(size);
    if (compress2(out.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 6) != Z_OK)
        throw std::runtime_error("zlib compress2 failed");
    out.resize(size);
    return out;
}

Bytes ihdr(std::uint32_t width, std::uint32_t height, int depth, int color_type) {
    Bytes d;
    put32(d, width);
    put32(d, height);
    d.insert(d.end(), {static_cast<std::uint8_t>(depth), static_cast<std::uint8_t>(color_type), 0, 0, 0});
    return d;
}

Bytes png_file(const Bytes& header, const std::vector<PngChunk>& before_idat, const Bytes& raw_rows,
               const PngOptions& options) {
    Bytes out = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    auto append = [&](const Bytes& c) { out.insert(out.end(), c.begin(), c.end()); };
    append(chunk("IHDR", header, false));
    for (const PngChunk& c : before_idat) append(chunk(c.type, c.data, c.bad_crc));
    for (const PngChunk& c : options.extra) append(chunk(c.type, c.data, c.bad_crc));
    append(chunk("IDAT", deflate(raw_rows), options.bad_idat_crc));
    if (options.iend) append(chunk("IEND", {}, false));
    return out;
}

cv::Mat fit(const cv::Mat& image, int longer) {
    const double scale = double(longer) / std::max(image.cols, image.rows);
    cv::Mat out;
    cv::resize(image, out, cv::Size(), scale, scale, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    return out;
}

}  // namespace

Bytes jpeg(const cv::Mat& image, int quality) {
    Bytes bytes;
    if (!cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, quality})) throw std::runtime_error("imencode");
    return bytes;
}

Bytes cmyk_jpeg(const cv::Mat& bgr, int quality) {
    jpeg_compress_struct c;
    jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);  // a test tool: libjpeg's default (print and exit) is fine
    jpeg_create_compress(&c);
    unsigned char* buffer = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &buffer, &size);
    c.image_width = static_cast<JDIMENSION>(bgr.cols);
    c.image_height = static_cast<JDIMENSION>(bgr.rows);
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);  // CMYK in: CMYK JPEG with an Adobe marker
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    std::vector<std::uint8_t> row(static_cast<std::size_t>(bgr.cols) * 4);
    while (c.next_scanline < c.image_height) {
        const cv::Vec3b* p = bgr.ptr<cv::Vec3b>(static_cast<int>(c.next_scanline));
        for (int x = 0; x < bgr.cols; ++x) {
            // Ink with full black generation; stored inverted (paper left), as Adobe does.
            const int b = p[x][0], g = p[x][1], r = p[x][2], mx = std::max({r, g, b});
            std::uint8_t* o = &row[static_cast<std::size_t>(x) * 4];
            for (int k = 0; k < 3; ++k) {
                const int v = k == 0 ? r : k == 1 ? g : b;
                o[k] = static_cast<std::uint8_t>(mx == 0 ? 255 : (255 * v + mx / 2) / mx);
            }
            o[3] = static_cast<std::uint8_t>(mx);
        }
        JSAMPROW rp = row.data();
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    Bytes bytes(buffer, buffer + size);
    std::free(buffer);
    jpeg_destroy_compress(&c);
    return bytes;
}

Bytes exif_tiff(int orientation) {
    return {'M', 'M', 0, 42, 0, 0, 0, 8,  // big-endian, first IFD at 8
            0, 1,                         // one entry: orientation, SHORT, count 1
            0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, static_cast<std::uint8_t>(orientation), 0, 0,
            0, 0, 0, 0};                  // no next IFD
}

Bytes tiff_with_orientation(const cv::Mat& bgr, int orientation) {
    CV_Assert(bgr.type() == CV_8UC3 || bgr.type() == CV_16UC3);
    const std::uint32_t bits = bgr.depth() == CV_16U ? 16 : 8, bytes_per_sample = bits / 8;
    const std::uint32_t w = static_cast<std::uint32_t>(bgr.cols), h = static_cast<std::uint32_t>(bgr.rows);
    Bytes out = {'I', 'I', 42, 0, 8, 0, 0, 0};  // little-endian, first IFD at 8
    auto u16 = [&](std::uint32_t v) { out.push_back(std::uint8_t(v)); out.push_back(std::uint8_t(v >> 8)); };
    auto u32 = [&](std::uint32_t v) { u16(v & 0xFFFF); u16(v >> 16); };
    constexpr std::uint32_t kEntries = 11;
    const std::uint32_t bits_at = 8 + 2 + 12 * kEntries + 4, pixels_at = bits_at + 6;
    // Entries sorted by tag: (tag, type 3 SHORT / 4 LONG, count, value or offset).
    const std::uint32_t entries[kEntries][4] = {
        {256, 4, 1, w},         {257, 4, 1, h},           {258, 3, 3, bits_at}, {259, 3, 1, 1},
        {262, 3, 1, 2},         {273, 4, 1, pixels_at},   {274, 3, 1, std::uint32_t(orientation)},
        {277, 3, 1, 3},         {278, 4, 1, h},           {279, 4, 1, w * h * 3 * bytes_per_sample},
        {284, 3, 1, 1}};
    u16(kEntries);
    for (const auto& e : entries) {
        u16(e[0]);
        u16(e[1]);
        u32(e[2]);
        if (e[1] == 3 && e[2] == 1) {
            u16(e[3]);
            u16(0);
        } else {
            u32(e[3]);
        }
    }
    u32(0);  // no next IFD
    for (int i = 0; i < 3; ++i) u16(bits);
    for (int y = 0; y < bgr.rows; ++y)
        for (int x = 0; x < bgr.cols; ++x)
            for (int c = 2; c >= 0; --c) {  // RGB order on disk
                if (bits == 16) u16(bgr.at<cv::Vec3w>(y, x)[c]);
                else out.push_back(bgr.at<cv::Vec3b>(y, x)[c]);
            }
    return out;
}

Bytes with_exif_orientation(const Bytes& jpeg_bytes, int orientation) {
    Bytes app1 = {'E', 'x', 'i', 'f', 0, 0};
    const Bytes tiff = exif_tiff(orientation);
    app1.insert(app1.end(), tiff.begin(), tiff.end());
    const std::size_t length = app1.size() + 2;
    Bytes segment = {0xFF, 0xE1, static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length & 0xFF)};
    segment.insert(segment.end(), app1.begin(), app1.end());
    Bytes out = jpeg_bytes;
    out.insert(out.begin() + 2, segment.begin(), segment.end());
    return out;
}

Bytes png(const cv::Mat& image, const PngOptions& options) {
    static const int kColorType[] = {0, 0, 4, 2, 6};  // by channel count
    const int channels = image.channels(), depth = image.depth() == CV_16U ? 16 : 8;
    cv::Mat rgb;  // a fresh Mat: converting into a header of `image` would swap the caller's pixels
    if (channels == 3) cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
    else if (channels == 4) cv::cvtColor(image, rgb, cv::COLOR_BGRA2RGBA);
    else rgb = image;
    Bytes raw;
    for (int y = 0; y < rgb.rows; ++y) {
        raw.push_back(0);  // filter: none
        const std::size_t samples = static_cast<std::size_t>(rgb.cols) * channels;
        if (depth == 8) {
            const std::uint8_t* p = rgb.ptr<std::uint8_t>(y);
            raw.insert(raw.end(), p, p + samples);
        } else {
            const std::uint16_t* p = rgb.ptr<std::uint16_t>(y);
            for (std::size_t i = 0; i < samples; ++i) raw.insert(raw.end(), {std::uint8_t(p[i] >> 8), std::uint8_t(p[i] & 0xFF)});
        }
    }
    return png_file(ihdr(static_cast<std::uint32_t>(image.cols), static_cast<std::uint32_t>(image.rows), depth,
                         kColorType[channels]),
                    {}, raw, options);
}

Bytes palette_png(const cv::Mat& bgr, const cv::Mat& alpha) {
    // Ordered (Bayer) dithering keeps a 252-colour face recognisable.
    static const int kBayer[4][4] = {{0, 8, 2, 10}, {12, 4, 14, 6}, {3, 11, 1, 9}, {15, 7, 13, 5}};
    const int levels[3] = {6, 7, 6};  // R, G, B
    constexpr int kTransparent = 252;
    Bytes raw;
    for (int y = 0; y < bgr.rows; ++y) {
        raw.push_back(0);
        const cv::Vec3b* p = bgr.ptr<cv::Vec3b>(y);
        for (int x = 0; x < bgr.cols; ++x) {
            if (!alpha.empty() && alpha.at<std::uint8_t>(y, x) < 128) { raw.push_back(kTransparent); continue; }
            const double dither = (kBayer[y % 4][x % 4] + 0.5) / 16.0 - 0.5;
            int q[3];
            for (int c = 0; c < 3; ++c) {
                const double v = p[x][2 - c] / 255.0 * (levels[c] - 1) + dither;
                q[c] = std::clamp(static_cast<int>(std::lround(v)), 0, levels[c] - 1);
            }
            raw.push_back(static_cast<std::uint8_t>(q[0] * 42 + q[1] * 6 + q[2]));
        }
    }
    Bytes plte, trns(kTransparent + 1, 255);
    for (int r = 0; r < 6; ++r)
        for (int g = 0; g < 7; ++g)
            for (int b = 0; b < 6; ++b)
                plte.insert(plte.end(), {std::uint8_t(r * 255 / 5), std::uint8_t(g * 255 / 6), std::uint8_t(b * 255 / 5)});
    plte.insert(plte.end(), {255, 255, 255});
    trns[kTransparent] = 0;
    std::vector<PngChunk> before = {{"PLTE", plte}};
    if (!alpha.empty()) before.push_back({"tRNS", trns});
    return png_file(ihdr(static_cast<std::uint32_t>(bgr.cols), static_cast<std::uint32_t>(bgr.rows), 8, 3), before, raw, {});
}

Bytes png_bomb(std::uint32_t width, std::uint32_t height) {
    const Bytes start(std::min<std::uint32_t>(width, 1u << 16) + 1, 0);  // a header check must not need more
    return png_file(ihdr(width, height, 8, 0), {}, start, {});
}

Bytes jpeg_with_size(const Bytes& jpeg_bytes, int width, int height) {
    Bytes out = jpeg_bytes;
    for (std::size_t pos = 2; pos + 9 < out.size();) {
        const std::uint8_t marker = out[pos + 1];
        if (marker == 0xC0 || marker == 0xC2) {
            out[pos + 5] = std::uint8_t(height >> 8); out[pos + 6] = std::uint8_t(height);
            out[pos + 7] = std::uint8_t(width >> 8); out[pos + 8] = std::uint8_t(width);
            return out;
        }
        pos += 2 + ((std::size_t(out[pos + 2]) << 8) | out[pos + 3]);
    }
    throw std::runtime_error("no SOF marker");
}

void write_file(const fs::path& path, const Bytes& bytes) {
    if (path.has_parent_path()) fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

namespace {

Entry expect(const std::string& status, const std::string& reason = "", const std::string& format = "") {
    Entry e;
    e.expect = status;
    e.reason = reason;
    e.format = format;
    return e;
}

Entry with_alpha(Entry e) { e.alpha = true; return e; }

Entry oriented(int orientation) {
    Entry e = expect("ok");
    e.orientation = orientation;
    e.same_face_as = "upright.jpg";
    return e;
}

Entry damaged(const std::string& reason) {
    Entry e = expect("warn", reason);
    e.any_face_status = true;
    return e;
}

PngOptions extra_chunk(const std::string& type, const Bytes& data, bool bad_crc) {
    PngOptions o;
    o.extra.push_back({type, data, bad_crc});
    return o;
}

}  // namespace

std::vector<Entry> make_corpus(const cv::Mat& face_photo, const fs::path& dir, bool small) {
    const cv::Mat face = fit(face_photo, small ? 64 : 960);
    std::vector<Entry> entries;
    auto add = [&](const std::string& name, const Bytes& bytes, Entry e) {
        write_file(dir / name, bytes);
        e.path = name;
        entries.push_back(e);
    };
    cv::Mat gray, rotated;
    cv::cvtColor(face, gray, cv::COLOR_BGR2GRAY);
    const Bytes upright = jpeg(face);

    // Unusual but sound: each must become a portrait, its conversion recorded.
    add("upright.jpg", upright, expect("ok", "", "jpeg 8-bit color"));
    add("gray.jpg", jpeg(gray), expect("ok", "", "jpeg 8-bit gray"));
    cv::Mat gray16, color16;
    gray.convertTo(gray16, CV_16U, 257.0);
    face.convertTo(color16, CV_16U, 257.0);
    add("gray16.png", png(gray16), expect("ok", "", "png 16-bit gray"));
    Bytes tiff;
    cv::imencode(".tif", color16, tiff);
    add("color16.tif", tiff, expect("ok", "", "tiff 16-bit color"));
    add("cmyk.jpg", cmyk_jpeg(face), expect("ok", "", "jpeg 8-bit cmyk"));
    add("palette.png", palette_png(face), expect("ok", "", "png 8-bit palette"));
    // Transparent margins; under alpha 0 the colour is noise, which must not matter.
    cv::Mat alpha(face.size(), CV_8UC1, cv::Scalar(0));
    const int mx = face.cols / 12, my = face.rows / 12;
    alpha(cv::Rect(mx, my, face.cols - 2 * mx, face.rows - 2 * my)).setTo(255);
    cv::GaussianBlur(alpha, alpha, cv::Size(0, 0), std::max(1, mx / 3));
    add("palette_alpha.png", palette_png(face, alpha), with_alpha(expect("ok", "", "png 8-bit palette+alpha")));
    cv::Mat noise(face.size(), CV_8UC3), bgra;
    cv::randu(noise, 0, 256);
    cv::Mat hidden = face.clone();
    noise.copyTo(hidden, alpha == 0);
    cv::merge(std::vector<cv::Mat>{hidden, alpha}, bgra);
    add("alpha.png", png(bgra), with_alpha(expect("ok", "", "png 8-bit color+alpha")));
    add("png_named.jpg", png(face), expect("ok", "", "png 8-bit color"));

    // EXIF orientation: stored sideways or upside down, shown upright.
    cv::rotate(face, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    add("rot6.jpg", with_exif_orientation(jpeg(rotated), 6), oriented(6));
    cv::rotate(face, rotated, cv::ROTATE_180);
    add("rot3.jpg", with_exif_orientation(jpeg(rotated), 3), oriented(3));
    cv::rotate(face, rotated, cv::ROTATE_90_CLOCKWISE);
    add("rot8.jpg", with_exif_orientation(jpeg(rotated), 8), oriented(8));
    add("rot8_exif.png", png(rotated, extra_chunk("eXIf", exif_tiff(8), false)), oriented(8));
    add("rot8.tif", tiff_with_orientation(rotated, 8), oriented(8));

    // Damage the decoders recover from: a warning, and a portrait if the face survived.
    add("truncated.jpg", Bytes(upright.begin(), upright.begin() + static_cast<long>(upright.size() / 2)),
        damaged("Premature end of JPEG file"));
    Bytes scan = upright;
    for (std::size_t i = scan.size() * 6 / 10; i < scan.size() * 6 / 10 + 64; ++i)
        if (scan[i] != 0xFF && scan[i - 1] != 0xFF && (scan[i] ^ 0x5A) != 0xFF) scan[i] ^= 0x5A;
    const std::size_t at = scan.size() * 7 / 10;
    if (scan[at - 1] != 0xFF) { scan[at] = 0xFF; scan[at + 1] = 0xD3; }  // a restart marker out of place
    add("corrupt_scan.jpg", scan, damaged("Corrupt JPEG data"));
    add("bad_text_crc.png", png(face, extra_chunk("tEXt", {'C', 'o', 'm', 'm', 'e', 'n', 't', 0, 'h', 'i'}, true)),
        expect("warn", "CRC error"));
    PngOptions no_iend;
    no_iend.iend = false;
    add("no_iend.png", png(face, no_iend), expect("warn", "no IEND"));

    // Damage they cannot recover from, and files that are no image at all.
    PngOptions bad_idat;
    bad_idat.bad_idat_crc = true;
    add("bad_idat_crc.png", png(face, bad_idat), expect("error", "CRC error"));
    const Bytes whole_png = png(face);
    add("cut_in_half.png", Bytes(whole_png.begin(), whole_png.begin() + static_cast<long>(whole_png.size() / 2)),
        expect("error", "truncated PNG"));
    add("header_only.jpg", Bytes(upright.begin(), upright.begin() + 200), expect("error", "corrupt or unsupported JPEG"));
    add("empty.jpg", {}, expect("error", "empty file"));
    const std::string text = "this is a shopping list, not a photo\n";
    add("text.jpg", Bytes(text.begin(), text.end()), expect("error", "not an image"));
    add("bomb_header.png", png_bomb(40000, 40000), expect("error", "exceeds --max-pixels"));
    add("bomb_frame.jpg", jpeg_with_size(upright, 65000, 65000), expect("error", "exceeds --max-pixels"));

    // No face: tiny, degenerate and empty pictures.
    cv::Mat tiny, strip(3, small ? 64 : 4000, CV_8UC3);
    cv::resize(face, tiny, cv::Size(12, 9), 0, 0, cv::INTER_AREA);
    cv::randu(strip, 0, 256);
    add("tiny.png", png(tiny), expect("no_face", "no face found"));
    add("strip.png", png(strip), expect("no_face", "no face found"));
    add("blank.jpg", jpeg(cv::Mat(small ? 48 : 480, small ? 64 : 640, CV_8UC3, cv::Scalar::all(200))),
        expect("no_face", "no face found"));
    if (small) return entries;

    // The file system's own oddities.
    add("dir with spaces/фото ünïcode 1.jpg", upright, expect("ok", "", "jpeg 8-bit color"));
    fs::create_directories(dir / "links");
    fs::create_directory_symlink("..", dir / "links/loop");  // following it would never end
    auto link = [&](const std::string& target, const std::string& name, const std::string& status, const std::string& why) {
        fs::create_symlink(target, dir / name);
        Entry e = expect(status, why);
        e.path = name;
        entries.push_back(e);
    };
    link("nowhere.jpg", "links/dangling.jpg", "rejected", "symbolic link leads nowhere");
    link("self.jpg", "links/self.jpg", "rejected", "symbolic link leads nowhere");
    if (::mkfifo((dir / "links/pipe.jpg").c_str(), 0644) == 0) {
        Entry e = expect("rejected", "not a regular file");
        e.path = "links/pipe.jpg";
        entries.push_back(e);
    }
    return entries;
}

}  // namespace aiportrait::awkward

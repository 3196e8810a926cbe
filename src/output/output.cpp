#include "aiportrait/output.hpp"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace aiportrait {
namespace {

constexpr const char* kTempTag = ".aiportrait-tmp.";

// The HOST field of a temporary's name.
std::string temporary_host() {
    std::string name = host_name();
    if (name.empty()) return "localhost";
    std::replace(name.begin(), name.end(), '.', '_');  // dots separate the name's fields
    return name;
}

void write_all(int fd, const std::uint8_t* data, std::size_t size, const std::string& what) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(fmt::format("{}: write failed: {}", what, std::strerror(errno)));
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

// The temporary's name must fit NAME_MAX (255 bytes) even when the output's own name nearly
// does, so the copied name is shortened (at a UTF-8 character boundary): it is only a hint for
// people looking at the folder, remove_stale_temporaries goes by the tag.
std::string temp_name_stem(const std::string& filename, std::size_t room) {
    if (filename.size() <= room) return filename;
    std::size_t cut = room;
    while (cut > 0 && (static_cast<unsigned char>(filename[cut]) & 0xC0) == 0x80) --cut;
    return filename.substr(0, cut);
}

}  // namespace

const std::vector<OutputFormat>& output_format_table() {
    // PNG level 3: most of level 9's size at a fraction of its time (bench/bench.sh measures).
    // JPEG 95: no visible loss on faces. WebP quality > 100 selects lossless.
    static const std::vector<OutputFormat> table = {
        {ImageFormat::png, "png", "PNG", {".png"}, true, {cv::IMWRITE_PNG_COMPRESSION, 3}},
        {ImageFormat::jpeg, "jpg", "JPEG", {".jpg", ".jpeg"}, false, {cv::IMWRITE_JPEG_QUALITY, 95}},
        {ImageFormat::webp, "webp", "WebP", {".webp"}, true, {cv::IMWRITE_WEBP_QUALITY, 101}},
    };
    return table;
}

const OutputFormat& output_format(ImageFormat format) {
    for (const OutputFormat& f : output_format_table())
        if (f.format == format) return f;
    throw std::logic_error("output_format: a format without a row in the table");
}

const OutputFormat* output_format_for(const std::string& path) {
    if (path == "-") return &output_format(ImageFormat::png);
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const OutputFormat& f : output_format_table())
        for (const std::string& e : f.extensions)
            if (e == ext) return &f;
    return nullptr;
}

std::string writable_formats_text() {
    std::vector<std::string> items;
    for (const OutputFormat& f : output_format_table())
        items.push_back(fmt::format("{} ({})", f.label, fmt::join(f.extensions, ", ")));
    std::string text;
    for (std::size_t i = 0; i < items.size(); ++i)
        text += (i == 0 ? "" : i + 1 == items.size() ? " or " : ", ") + items[i];
    return text;
}

std::vector<std::uint8_t> encode_image(const cv::Mat& bgr, const cv::Mat& alpha, const std::string& path_for_format) {
    const OutputFormat* format = output_format_for(path_for_format);
    if (!format)
        throw std::runtime_error(fmt::format("cannot write '{}' images (use {})",
                                             fs::path(path_for_format).extension().string(), writable_formats_text()));
    cv::Mat image = bgr;
    if (format->keeps_alpha && !alpha.empty()) {
        cv::Mat planes[] = {bgr, alpha};
        cv::merge(std::vector<cv::Mat>(planes, planes + 2), image);  // BGR + A = BGRA
    }
    std::vector<std::uint8_t> bytes;
    if (!cv::imencode(format->extensions.front(), image, bytes, format->encode_params) || bytes.empty())
        throw std::runtime_error(fmt::format("encoding {} failed", format->label));
    return bytes;
}

void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    const fs::path target(path);
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error(fmt::format("{}: cannot create folder: {}", dir.string(), ec.message()));

    // Replacing a device or a folder by renaming over it would be a disaster (as root,
    // `--sidecar /dev/null` would replace /dev/null); only regular files are replaced.
    struct stat existing {};
    if (::stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode))
        throw std::runtime_error(fmt::format("{}: exists and is not a regular file; not replaced", path));

    const std::string suffix = std::string(kTempTag) + temporary_host() + "." + std::to_string(::getpid()) + ".XXXXXX";
    const std::size_t room = suffix.size() + 1 < 255 ? 255 - suffix.size() - 1 : 0;
    std::string temp = (dir / ("." + temp_name_stem(target.filename().string(), room) + suffix)).string();
    std::vector<char> name(temp.begin(), temp.end());
    name.push_back('\0');
    int fd = ::mkstemp(name.data());
    if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot create file: {}", path, std::strerror(errno)));
    temp.assign(name.data());
    try {
        write_all(fd, bytes.data(), bytes.size(), path);
        // mkstemp creates 0600; give the file the permissions a plain create would. The umask
        // can only be read by setting it, so do that once, not while other threads create files.
        static const mode_t mask = [] {
            const mode_t m = ::umask(0);
            ::umask(m);
            return m;
        }();
        ::fchmod(fd, 0666 & ~mask);
        // Without this a power cut soon after the rename can leave an empty file in its place
        // (the rename reaches the disk before the data).
        if (::fsync(fd) != 0) throw std::runtime_error(fmt::format("{}: write failed: {}", path, std::strerror(errno)));
        const int closed = ::close(fd);
        fd = -1;
        if (closed != 0) throw std::runtime_error(fmt::format("{}: write failed: {}", path, std::strerror(errno)));
    } catch (...) {
        if (fd >= 0) ::close(fd);
        ::unlink(temp.c_str());
        throw;
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(temp.c_str());
        throw std::runtime_error(fmt::format("{}: cannot move into place: {}", path, std::strerror(err)));
    }
}

void write_file_atomic(const std::string& path, const std::string& text) {
    write_file_atomic(path, std::vector<std::uint8_t>(text.begin(), text.end()));
}

void write_stdout(const std::vector<std::uint8_t>& bytes) {
    write_all(STDOUT_FILENO, bytes.data(), bytes.size(), "standard output");
}

std::string host_name() {
    char buffer[256] = {0};
    return gethostname(buffer, sizeof buffer - 1) == 0 ? buffer : "";
}

std::string face_output_path(const std::string& output, std::size_t index) {
    const fs::path p(output);
    return (p.parent_path() / fmt::format("{}_face{}{}", p.stem().string(), index + 1, p.extension().string())).string();
}

std::string face_output_owner(const std::string& stem) {
    const std::size_t face = stem.rfind("_face");
    if (face == std::string::npos || face + 5 == stem.size() ||
        stem.find_first_not_of("0123456789", face + 5) != std::string::npos)
        return "";
    return stem.substr(0, face);
}

int remove_stale_temporaries(const std::string& dir) {
    const std::string host = temporary_host();
    int removed = 0;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const std::size_t tag = name.find(kTempTag);
        if (name.empty() || name[0] != '.' || tag == std::string::npos) continue;
        // HOST.PID.XXXXXX after the tag.
        const std::string rest = name.substr(tag + std::strlen(kTempTag));
        const std::size_t dot1 = rest.find('.'), dot2 = rest.rfind('.');
        if (dot1 == std::string::npos || dot1 == dot2 || rest.substr(0, dot1) != host) continue;
        const long pid = std::strtol(rest.substr(dot1 + 1, dot2 - dot1 - 1).c_str(), nullptr, 10);
        if (pid <= 0) continue;
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still running
        std::error_code rm_ec;
        if (fs::remove(it->path(), rm_ec)) ++removed;
    }
    return removed;
}

}  // namespace aiportrait

// The folder walk of discovery (discover.cpp): which files under a folder are inputs, which are
// refused with a reason, and what is left out and said once.
#include "walk.hpp"

#include "aiportrait/discover.hpp"
#include "aiportrait/gallery.hpp"
#include "aiportrait/sidecar.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace fs = std::filesystem;

namespace aiportrait {
namespace {

// Photo formats people keep next to their JPEGs that this build cannot decode.
bool is_unreadable_photo_format(const fs::path& p) {
    static const std::set<std::string> extensions = {".heic", ".heif", ".avif", ".jxl", ".gif", ".dng", ".cr2",
                                                     ".cr3",  ".nef",  ".arw",  ".raf", ".orf", ".rw2", ".psd"};
    return extensions.count(lower_case(p.extension().string())) > 0;
}

// Whether a sidecar beside `image` records it as an output of this tool: a folder walk leaves
// those out, so a rerun over a folder that holds earlier outputs does not make portraits of portraits.
bool is_own_output(const fs::path& image) { return record_naming(image.string()).has_value(); }

}  // namespace

std::string lower_case(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::vector<std::pair<fs::path, std::string>> walk_images(const fs::path& dir,
                                                          const std::function<bool(const fs::path&)>& excluded,
                                                          WalkNotes& notes) {
    std::vector<std::pair<fs::path, std::string>> found;
    std::vector<fs::path> pending{dir};
    while (!pending.empty()) {
        const fs::path folder = pending.back();
        pending.pop_back();
        std::error_code ec;
        fs::directory_iterator it(folder, ec), end;
        if (ec) {
            found.emplace_back(folder, fmt::format("cannot list folder: {}", ec.message()));
            continue;
        }
        for (; it != end; it.increment(ec)) {
            const fs::path& p = it->path();
            std::error_code type_ec;
            const fs::file_status own = it->symlink_status(type_ec);
            if (fs::is_directory(own)) {
                // A gallery's thumbnails are this tool's too (gallery.hpp).
                if (!excluded(p) && p.filename() != kGalleryAssets)
                    pending.push_back(p);
                continue;
            }
            if (fs::is_symlink(own) && fs::is_directory(fs::status(p, type_ec))) {
                notes.linked_folders.push_back(p.string());  // not followed (no loops), but not silently
                continue;
            }
            if (!has_image_extension(p.string())) {
                if (is_unreadable_photo_format(p)) ++notes.unreadable[lower_case(p.extension().string())];
                continue;
            }
            const fs::file_status target = fs::status(p, type_ec);
            if (fs::is_regular_file(target)) {
                if (is_own_output(p)) {
                    ++notes.own_outputs;
                    continue;
                }
                found.emplace_back(p, "");
            } else if (fs::is_symlink(own) && type_ec) {
                found.emplace_back(p, fmt::format("symbolic link leads nowhere: {}", type_ec.message()));
            } else if (!type_ec && !fs::is_directory(target)) {
                // A FIFO or device with an image name: reading it could block or never end.
                found.emplace_back(p, "not a regular file (a pipe, socket or device); not read");
            }
        }
        if (ec) found.emplace_back(folder, fmt::format("cannot list folder: {}", ec.message()));
    }
    std::sort(found.begin(), found.end());
    return found;
}


}  // namespace aiportrait

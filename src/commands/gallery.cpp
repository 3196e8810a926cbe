// DIR/index.html from the sidecars under DIR (gallery.hpp). Reads records and files; never
// changes an output.
#include "aiportrait/gallery.hpp"

#include "aiportrait/decode.hpp"
#include "aiportrait/output.hpp"
#include "aiportrait/report.hpp"
#include "aiportrait/sidecar.hpp"
#include "aiportrait/util.hpp"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

namespace fs = std::filesystem;

namespace aiportrait {
namespace {

struct Picture {
    std::string thumb;   // relative to DIR; empty when none could be made
    std::string target;  // the full image the thumbnail links to, relative to DIR
};

struct Card {
    std::string input;       // as recorded
    std::string name;        // as people find it: its folder under DIR, and its file name
    std::string status, error, kind;
    Picture photo;
    std::vector<Picture> outputs;
    std::vector<std::string> faces;  // "face 1: distance 0.46, strength 0.85"
};

std::string html(const std::string& text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

// A relative link, every byte outside the unreserved set percent-encoded (names need not be
// UTF-8; '#' and '?' must not end the path).
std::string href(const fs::path& relative) {
    std::string out;
    for (const unsigned char c : relative.generic_string()) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') out += static_cast<char>(c);
        else out += fmt::format("%{:02X}", c);
    }
    return out;
}

// A JPEG of at most `side` px on its longer side and ~40 KB, from image file bytes: JPEGs are
// decoded at a reduced DCT scale where that still leaves twice the thumbnail's size.
std::vector<std::uint8_t> thumbnail_bytes(const std::vector<std::uint8_t>& bytes, int side) {
    const ImageHeader header = peek_header(bytes);
    const int longer = std::max(header.width, header.height);
    int flag = cv::IMREAD_COLOR;
    if (longer >= 16 * side) flag = cv::IMREAD_REDUCED_COLOR_8;
    else if (longer >= 8 * side) flag = cv::IMREAD_REDUCED_COLOR_4;
    else if (longer >= 4 * side) flag = cv::IMREAD_REDUCED_COLOR_2;
    cv::Mat image = cv::imdecode(bytes, flag | cv::IMREAD_IGNORE_ORIENTATION);
    if (image.empty()) throw std::runtime_error("cannot decode it for a thumbnail");
    image = apply_orientation(image, exif_orientation(bytes));
    image = shrink_to_side(image, side);
    std::vector<std::uint8_t> out;
    for (const int quality : {82, 65, 50}) {
        cv::imencode(".jpg", image, out, {cv::IMWRITE_JPEG_QUALITY, quality, cv::IMWRITE_JPEG_OPTIMIZE, 1});
        if (out.size() <= 40 * 1024) break;
    }
    return out;
}

class Builder {
public:
    explicit Builder(const fs::path& dir) : dir_(dir), assets_(dir / kGalleryAssets) {}

    // The thumbnail of `image` (named by `sha256`, the bytes it shows), made when missing.
    Picture picture(const fs::path& image, const std::string& sha256, int side) {
        Picture p;
        std::error_code ec;
        if (fs::exists(image, ec)) p.target = href(fs::relative(fs::absolute(image), fs::absolute(dir_), ec));
        if (sha256.size() < 16) return p;
        const fs::path thumb = assets_ / fmt::format("{}-{}.jpg", sha256.substr(0, 16), side);
        if (!fs::is_regular_file(thumb, ec)) {
            try {
                write_file_atomic(thumb.string(), thumbnail_bytes(read_input_bytes(image.string()), side));
                ++result.thumbnails_made;
            } catch (const std::exception& e) {
                result.warnings.push_back(fmt::format("{}: no thumbnail ({})", image.string(), first_line(e.what())));
                return p;
            }
        }
        p.thumb = href(thumb.lexically_relative(dir_));
        return p;
    }

    void add(const fs::path& sidecar, const StoredRecord& r) {
        Card c;
        c.input = r.input;
        c.name = (sidecar.lexically_relative(dir_).parent_path() / fs::path(c.input).filename()).string();
        c.status = r.status;
        c.error = r.error;
        c.kind = r.kind;
        // The photo's path is relative to the folder the run started in, which the record says.
        c.photo = picture(resolve_recorded(r, c.input), r.input_sha256, 320);
        // Outputs sit beside their sidecar: found there whatever folder the run was started in.
        const fs::path here = sidecar.parent_path();
        if (!r.output.empty())
            c.outputs.push_back(picture(here / fs::path(r.output).filename(), r.output_sha256,
                                        c.kind == "paste" ? 480 : 220));
        int n = 0;
        for (const StoredFace& f : r.faces) {
            ++n;
            if (!f.used) continue;
            std::string line = fmt::format("face {}", n);
            if (f.identity_distance) line += fmt::format(": distance {:.3f}", *f.identity_distance);
            if (f.strength) line += fmt::format(", strength {:.2f}", *f.strength);
            c.faces.push_back(line);
            if (!f.output.empty())
                c.outputs.push_back(picture(here / fs::path(f.output).filename(), f.output_sha256, 220));
        }
        ++counts_[c.status];
        if (model_.empty() && !(r.model_name.empty() && r.model_version.empty()))
            model_ = fmt::format("{} {}", r.model_name.empty() ? "?" : r.model_name,
                                 r.model_version.empty() ? "?" : r.model_version);
        cards_.push_back(std::move(c));
    }

    std::string page() const;
    int cards() const { return static_cast<int>(cards_.size()); }

    GalleryResult result;

private:
    fs::path dir_, assets_;
    std::vector<Card> cards_;
    std::map<std::string, int> counts_;
    std::string model_;
};

std::string Builder::page() const {
    const int total = static_cast<int>(cards_.size());
    auto count = [&](const char* s) { return counts_.count(s) ? counts_.at(s) : 0; };
    std::string body;
    for (const Card& c : cards_) {
        std::string pictures;
        auto img = [](const Picture& p, const std::string& what) {
            const std::string alt = what + (p.target.empty() ? " not found" : " (no preview)");
            if (p.thumb.empty()) {
                const std::string box = fmt::format("<div class=\"missing\">{}</div>", html(alt));
                return p.target.empty() ? box : fmt::format("<a href=\"{}\">{}</a>", p.target, box);
            }
            const std::string tag = fmt::format("<img loading=\"lazy\" decoding=\"async\" src=\"{}\" alt=\"{}\">", p.thumb, html(what));
            return p.target.empty() ? tag : fmt::format("<a href=\"{}\">{}</a>", p.target, tag);
        };
        pictures += img(c.photo, "photo");
        for (const Picture& p : c.outputs) pictures += img(p, "portrait");
        std::string facts;
        for (const std::string& f : c.faces) facts += "<li>" + html(f) + "</li>";
        body += fmt::format(
            "<figure class=\"card {}\"><div class=\"pics\">{}</div><figcaption><span class=\"status\">{}</span> "
            "<span class=\"name\" title=\"{}\">{}</span>{}<ul>{}</ul></figcaption></figure>\n",
            html(c.status), pictures, html(c.status), html(c.input), html(c.name),
            c.error.empty() ? "" : "<div class=\"error\">" + html(c.error) + "</div>", facts);
    }
    const std::string summary = fmt::format("{} input{}: {} ok, {} no face, {} failed · generator {}", total,
                                            total == 1 ? "" : "s", count("ok"), count("no_face"), count("error"),
                                            html(model_.empty() ? "?" : model_));
    return fmt::format(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>aiportrait: {title}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1em; background: #f4f4f4; color: #222; }}
header {{ margin-bottom: 1em; }}
main {{ display: flex; flex-wrap: wrap; gap: 12px; }}
.card {{ margin: 0; background: #fff; border-radius: 6px; padding: 8px; width: 340px; box-shadow: 0 1px 3px #0002; }}
.pics {{ display: flex; flex-wrap: wrap; gap: 4px; align-items: flex-start; }}
.pics img {{ max-width: 160px; max-height: 160px; display: block; background: #ddd; }}
.missing {{ width: 160px; height: 120px; background: #eee; color: #888; display: flex; align-items: center; justify-content: center; }}
.status {{ font-weight: 600; padding: 0 4px; border-radius: 3px; background: #cfc; }}
.no_face .status {{ background: #ffd; }} .error .status {{ background: #fcc; }}
.error {{ color: #a00; }} .broken {{ outline: 3px solid red; }}
ul {{ margin: 4px 0 0; padding-left: 1.2em; }}
</style></head>
<body><header><h1>{title}</h1><p class="summary">{summary}</p></header>
<main>
{body}</main>
<script>
// Marks each image loaded (data-width) or broken (class "broken"), so a headless browser's DOM
// dump shows whether every thumbnail is there. #check loads all at once instead of lazily.
(function () {{
  var images = document.images;
  for (var i = 0; i < images.length; i++) {{
    var im = images[i];
    if (location.hash === '#check') im.loading = 'eager';
    var mark = function (im) {{ if (im.naturalWidth > 0) im.setAttribute('data-width', im.naturalWidth); else im.classList.add('broken'); }};
    if (im.complete && im.naturalWidth > 0) mark(im);
    im.addEventListener('load', function () {{ mark(this); }});
    im.addEventListener('error', function () {{ this.classList.add('broken'); }});
  }}
}})();
</script>
</body></html>
)",
                       fmt::arg("title", html(dir_.filename().empty() ? dir_.parent_path().filename().string()
                                                                      : dir_.filename().string())),
                       fmt::arg("summary", summary), fmt::arg("body", body));
}

}  // namespace

GalleryResult write_gallery(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw std::runtime_error(fmt::format("{}: not a folder", dir));
    std::vector<fs::path> sidecars;
    for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
        if (it->is_directory() && it->path().filename() == kGalleryAssets) {
            it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file() && it->path().extension() == ".json") sidecars.push_back(it->path());
    }
    std::sort(sidecars.begin(), sidecars.end());  // the run's order: outputs mirror sorted inputs
    Builder b{fs::path(dir)};
    for (const fs::path& p : sidecars) {
        const std::optional<StoredRecord> r = read_record(p.string());
        if (!r) continue;  // manifests, others
        try {
            b.add(p, *r);
        } catch (const std::exception& e) {
            b.result.warnings.push_back(fmt::format("{}: left out of the gallery ({})", p.string(), first_line(e.what())));
        }
    }
    b.result.page = (fs::path(dir) / kGalleryPage).string();
    b.result.cards = b.cards();
    write_file_atomic(b.result.page, b.page());
    return b.result;
}

int rebuild_gallery(const std::string& dir, Reporter& reporter) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        reporter.error(dir, "not a folder (aiportrait gallery takes an output folder)");
        return 2;
    }
    try {
        const GalleryResult g = write_gallery(dir);
        for (const std::string& w : g.warnings) reporter.warning(w);
        reporter.info(fmt::format("gallery: {} ({} input{}, {} new thumbnail{})", g.page, g.cards,
                                  g.cards == 1 ? "" : "s", g.thumbnails_made, g.thumbnails_made == 1 ? "" : "s"));
        return 0;
    } catch (const std::exception& e) {
        reporter.error(dir, e.what());
        return 1;
    }
}

}  // namespace aiportrait

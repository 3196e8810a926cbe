// The gallery: DIR/index.html, one card per input, to look at a batch side by side. Rebuilt from
// the sidecars under DIR (so it is right after --skip-existing resumes and after shards wrote
// into one folder), with small JPEG thumbnails in DIR/.aiportrait-gallery/ named by the bytes
// they show (a thumbnail is made once). Works from file:// with no network: relative links only,
// images lazy-loaded.
//
//   aiportrait photos/ -o portraits/ --gallery    # written when the run ends
//   aiportrait gallery portraits/                 # rebuilt over an existing output folder
#pragma once

#include <string>
#include <vector>

namespace aiportrait {

inline constexpr const char* kGalleryPage = "index.html";
inline constexpr const char* kGalleryAssets = ".aiportrait-gallery";

struct GalleryResult {
    std::string page;           // DIR/index.html
    int cards = 0;              // inputs shown
    int thumbnails_made = 0;    // new this time (others were there already)
    std::vector<std::string> warnings;  // e.g. a sidecar that is not one, a photo gone since
};

// Writes DIR/index.html atomically. Throws std::runtime_error naming DIR when it is not a folder
// or the page cannot be written; a bad sidecar or a missing photo is a warning and a card that
// says so, never a failure.
GalleryResult write_gallery(const std::string& dir);

class Reporter;

// `aiportrait gallery DIR`, and the end of a --gallery run: (re)writes DIR/index.html, saying
// so on stderr. Returns the exit code: 0 written, 1 it could not be written, 2 DIR is not a
// folder.
int rebuild_gallery(const std::string& dir, Reporter& reporter);

}  // namespace aiportrait

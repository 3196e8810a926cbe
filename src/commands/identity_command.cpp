// `aiportrait identity A B`: the identity distance between the largest faces of two photos, or,
// when one is a portrait the other was made into, the distance its sidecar records, measured again.
#include "aiportrait/commands.hpp"

#include "aiportrait/align.hpp"
#include "aiportrait/decode.hpp"
#include "aiportrait/hash.hpp"
#include "aiportrait/identity.hpp"
#include "aiportrait/output.hpp"
#include "aiportrait/setup.hpp"
#include "aiportrait/sidecar.hpp"
#include "aiportrait/util.hpp"

#include <fmt/format.h>

#include <optional>
#include <utility>

namespace aiportrait {
namespace {

struct Photo {
    std::string path;
    std::vector<std::uint8_t> bytes;
    std::string sha256;
};

cv::Mat visible_image(const Photo& photo, long long max_pixels, int scale_denom, int& decoded_denom) {
    const DecodedImage image = decode_image(photo.bytes, max_pixels, scale_denom);
    decoded_denom = image.scale_denom;
    return composite_on_white(image.bgr, image.alpha);
}

// When the sidecar beside `portrait` records it, unchanged (same sha256), as made from `photo`'s
// bytes: the two crops the run compared for that face's identity_distance, i.e. the photo's face
// cut again with the recorded alignment and the portrait in the same frame (--paste: cut from it
// the same way), both prepared from the recorded landmarks. Detecting each face on its own would
// see two other crops, and the command and the sidecar would give two numbers for one pair.
std::optional<std::pair<cv::Mat, cv::Mat>> recorded_crops(const Photo& photo, const Photo& portrait,
                                                          long long max_pixels) {
    const std::optional<StoredRecord> record = record_naming(portrait.path);
    if (!record || record->status != "ok" || record->input_sha256 != photo.sha256) return std::nullopt;
    const StoredFace* face = nullptr;
    for (const StoredFace& f : record->faces) {
        if (!f.used) continue;
        const bool this_file = record->kind == "all_faces" ? f.output_sha256 == portrait.sha256
                                                           : record->output_sha256 == portrait.sha256;
        if (this_file) {
            face = &f;  // the first used face: the most prominent, as the command's own choice
            break;
        }
    }
    if (face == nullptr || face->crop_size == 0) return std::nullopt;

    int denom = 1;
    const cv::Mat a = visible_image(photo, max_pixels, face->photo_scale_denom, denom);  // sets denom
    const cv::Mat crop_a = warp_to_crop_reduced(a, denom, face->alignment, face->crop_size);
    const cv::Mat b = visible_image(portrait, max_pixels, 1, denom);
    cv::Mat crop_b = b;
    if (record->kind == "paste")
        crop_b = warp_to_crop(b, face->alignment, face->crop_size);
    else if (b.size() != cv::Size(face->crop_size, face->crop_size))
        return std::nullopt;
    Landmarks in_crop;
    for (std::size_t k = 0; k < kNumLandmarks; ++k) in_crop[k] = apply_affine(face->alignment, face->landmarks[k]);
    return std::make_pair(IdentityNet::prepare_crop(crop_a, in_crop), IdentityNet::prepare_crop(crop_b, in_crop));
}

}  // namespace

int compare_identity(const Config& config, const std::string& photo_a, const std::string& photo_b,
                     Reporter& reporter) {
    const ModelLocations where = find_models(config);
    configure_threads(config);
    const auto detector = make_detector(config, where);
    const IdentityNet net(where.face_recognition, config.device);

    std::vector<Photo> photos;
    for (const std::string& path : {photo_a, photo_b}) {
        try {
            Photo p{path, read_input_bytes(path, max_file_bytes(config.max_pixels)), ""};
            p.sha256 = sha256_hex(p.bytes.data(), p.bytes.size());
            photos.push_back(std::move(p));
        } catch (const std::exception& e) {
            reporter.error(path, first_line(e.what()));
            return 1;
        }
    }

    std::vector<cv::Mat> crops;
    for (const auto& [photo, portrait] : {std::pair{0, 1}, std::pair{1, 0}}) {
        try {
            if (auto pair = recorded_crops(photos[photo], photos[portrait], config.max_pixels)) {
                crops = {pair->first, pair->second};
                reporter.info(fmt::format("{} is a portrait of {}: measured on the crop its sidecar records",
                                          photos[portrait].path, photos[photo].path));
                break;
            }
        } catch (const std::exception&) {
            // A sidecar that does not fit its files (edited, truncated photo): measure them as photos.
        }
    }
    for (std::size_t i = 0; crops.size() < 2 && i < photos.size(); ++i) {
        const Photo& photo = photos[i];
        try {
            int denom = 1;
            const cv::Mat visible = visible_image(photo, config.max_pixels, 1, denom);
            const Detection found = detector->detect(visible);
            if (found.faces.empty()) {
                reporter.error(photo.path, no_face_message(found, config.min_face));
                return 1;
            }
            crops.push_back(IdentityNet::prepare_crop(visible, found.faces.front().landmarks));
        } catch (const std::exception& e) {
            reporter.error(photo.path, first_line(e.what()));
            return 1;
        }
    }
    const std::vector<Descriptor> d = net.run(crops);
    const double distance = descriptor_distance(d[0], d[1]);
    const std::string line = fmt::format("{:.4f} {}\n", distance, distance < kSamePersonDistance ? "same" : "different");
    try {
        write_stdout(std::vector<std::uint8_t>(line.begin(), line.end()));
    } catch (const std::exception& e) {
        reporter.error("", e.what());  // the one result of the command is lost: not success
        return 1;
    }
    return 0;
}

}  // namespace aiportrait

// Shared detector helpers and the YuNet detector (cv::FaceDetectorYN).
#include "aiportrait/detect.hpp"
#include "aiportrait/util.hpp"

#include "aiportrait/hash.hpp"

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <stdexcept>

namespace aiportrait {

float face_size(const Face& face) { return std::min(face.box.width, face.box.height); }

float drop_small_faces(std::vector<Face>& faces, double min_face) {
    float largest = 0.f;
    if (min_face <= 0) return largest;
    std::vector<Face> kept;
    for (const Face& f : faces) {
        if (face_size(f) >= static_cast<float>(min_face)) kept.push_back(f);
        else largest = std::max(largest, face_size(f));
    }
    faces = std::move(kept);
    return largest;
}

std::string no_face_message(const Detection& detection, int min_face) {
    if (detection.largest_dropped <= 0.f) return "no face found";
    // Rounded down, so a 39.6-px face never reads as "largest: 40 px" under a 40-px minimum.
    return fmt::format("no face of at least {} px (largest: {} px)", min_face,
                       static_cast<int>(detection.largest_dropped));
}

double prominence(const Face& face) {
    const double s2 = double(face.score) * face.score;
    return face.box.area() * s2 * s2;
}

void sort_by_prominence(std::vector<Face>& faces) {
    std::stable_sort(faces.begin(), faces.end(),
                     [](const Face& a, const Face& b) { return prominence(a) > prominence(b); });
}

float iou(const cv::Rect2f& a, const cv::Rect2f& b) {
    const float inter = (a & b).area();
    const float uni = a.area() + b.area() - inter;
    return uni > 0 ? inter / uni : 0.f;
}

std::vector<Face> suppress_overlaps(std::vector<Face> faces, float max_iou) {
    std::stable_sort(faces.begin(), faces.end(), [](const Face& a, const Face& b) { return a.score > b.score; });
    std::vector<Face> kept;
    for (const Face& f : faces) {
        bool overlaps = false;
        for (const Face& k : kept) overlaps = overlaps || iou(f.box, k.box) > max_iou;
        if (!overlaps) kept.push_back(f);
    }
    return kept;
}

namespace {

// OpenCV 4.6's YuNet fails on inputs with a side under ~63 px; smaller images are padded.
constexpr int kYuNetMinSide = 64;

class YuNetDetector final : public FaceDetector {
public:
    YuNetDetector(const std::string& path, const DetectorOptions& options) : path_(path), options_(options) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path, ec))
            throw std::runtime_error(fmt::format("{}: YuNet model not found", path));
        try {
            net_ = cv::FaceDetectorYN::create(path, "", cv::Size(320, 320), options.score_threshold,
                                              options.nms_iou, 5000);
        } catch (const cv::Exception& e) {
            throw std::runtime_error(fmt::format("{}: cannot load YuNet model: {}", path, e.err));
        }
        if (net_.empty()) throw std::runtime_error(fmt::format("{}: cannot load YuNet model", path));
        verifier_ = cv::FaceDetectorYN::create(path, "", cv::Size(kVerifyView, kVerifyView), verify_score(),
                                               options.nms_iou, 5000);
        sha256_ = sha256_file(path);
    }

    using FaceDetector::detect;
    Detection detect(const cv::Mat& bgr, double pixel_size) const override {
        // YuNet is reliable for faces up to ~250 px of its view: bigger ones come back with loose
        // landmarks, as several fragment boxes, or as phantom "faces" on skin. So detect on a
        // pyramid of views (longer side 320, 640, then max_side), trusting each finer view only
        // for faces within that band, and merge.
        const int longest = std::max(bgr.cols, bgr.rows);
        const int fine_side = options_.max_side > 0 ? std::min(longest, options_.max_side) : longest;
        std::vector<int> sides = {std::min(320, fine_side)};
        if (fine_side > 320) sides.push_back(std::min(640, fine_side));
        if (fine_side > 640) sides.push_back(fine_side);
        // A finest level within 1.25x of the one below adds a second look at nearly the same
        // pixels (a 660-px photo: 640 then 660, 25-30 ms for nothing): the level below, whose band
        // it would extend by a few pixels, takes its place.
        if (sides.size() >= 2 && sides.back() * 4 <= sides[sides.size() - 2] * 5) sides.pop_back();
        // The views below the finest from the photo down, each resized from the one before (a
        // 24-MP photo is read once for all of them); the finest one from the photo, only when the
        // loop reaches it: with the main face only it rarely runs (a face found in a coarser view
        // is bigger than any it may report), and making it costs more than running YuNet on a
        // coarse view (a 2400-px photo to 2048: ~50 ms, the 320 view ~8 ms). Both modes make
        // their views the same way, so they agree on the main face.
        std::vector<cv::Mat> views(sides.size());
        cv::Mat source = bgr;
        for (std::size_t i = sides.size() - 1; i-- > 0;) source = views[i] = shrink_to_side(source, sides[i]);
        Detection result;
        std::vector<Face> faces;
        std::vector<cv::Rect2f> verified;  // boxes verification confirmed, reused across views
        for (std::size_t i = 0; i < views.size(); ++i) {
            if (views[i].empty()) views[i] = shrink_to_side(bgr, sides[i]);
            // The coarsest view trusts all sizes; finer ones only their reliable band.
            const double scale = static_cast<double>(views[i].cols) / bgr.cols;
            const float max_face = i == 0 ? 0.f : kReliableFaceSide;
            // A finer view reports faces of at most max_face / scale photo pixels a side, so none
            // of them can be more prominent (area x score^4, score <= 1) than a face already
            // found that is bigger; the fine view at max_side costs ~10x the coarse ones.
            if (options_.main_face_only && max_face > 0.f && !faces.empty()) {
                const double largest_possible = std::pow(max_face / scale, 2.0);
                double best = 0;
                for (const Face& f : faces) best = std::max(best, prominence(f));
                if (best > largest_possible) break;
            }
            std::vector<Face> found;
            for (const Face& f : detect_at(views[i], scale, max_face))
                if (confirmed(f, scale, bgr, verified))
                    found.push_back(f);
            result.largest_dropped = std::max(
                result.largest_dropped,
                static_cast<float>(pixel_size * drop_small_faces(found, options_.min_face / pixel_size)));
            faces.insert(faces.end(), found.begin(), found.end());
        }
        result.faces = suppress_overlaps(std::move(faces), options_.nms_iou);
        sort_by_prominence(result.faces);
        return result;
    }

    std::string name() const override { return "yunet"; }
    std::string model_path() const override { return path_; }
    std::string model_sha256() const override { return sha256_; }
    const DetectorOptions& options() const override { return options_; }

private:
    static constexpr float kReliableFaceSide = 250.f;

    // Verification. YuNet's phantoms (a gradient, an apple, a wall, skin, noise at score 0.7 to
    // 1.0) are claims that fill much of the view that made them; real faces come back when the
    // network looks again at a crop where the claimed face is mid-sized (kVerifyContext times its
    // box, resampled to kVerifyView: the face ~160 px) and the phantoms do not. Chosen on
    // opencv-doc's pictures, background crops of the eval photos, synthetic textures and the eval
    // faces (kept in tests/test_detect_phantoms.cpp; any side from 48 to 80 px separates them),
    // and checked on 150 UTKFace crops, faces filling their picture: all kept. Smaller claims are
    // kept as they are: blurred background faces are recognisable only small, and tiny phantoms
    // are under --min-face. A claim must score kVerifyScore to be verified at all: the drawn robot
    // of opencv-doc's ml.png comes back at 0.99, but it was claimed at 0.75.
    static constexpr float kVerifyFromSide = 64.f;  // box side in its view from which to verify
    static constexpr int kVerifyView = 320;
    static constexpr float kVerifyContext = 2.f;
    static constexpr double kVerifyScore = 0.8;     // both the claim and its re-detection

    double verify_score() const { return std::max(options_.score_threshold, kVerifyScore); }

    // Whether a face found in a view `scale` times the photo's size holds up; the crop is cut
    // from the photo itself (no view larger than the one that found the face need exist). The
    // same face found again in another view (IoU >= 0.5 with a box in `verified`) is not
    // verified twice; confirmed boxes are added.
    bool confirmed(const Face& f, double scale, const cv::Mat& photo, std::vector<cv::Rect2f>& verified) const {
        if (!options_.verify || std::max(f.box.width, f.box.height) * scale < kVerifyFromSide) return true;
        if (f.score < verify_score()) return false;
        for (const cv::Rect2f& v : verified)
            if (iou(v, f.box) >= 0.5f) return true;
        const float side = kVerifyContext * std::max(f.box.width, f.box.height);
        const cv::Point2f origin(f.box.x + f.box.width / 2 - side / 2, f.box.y + f.box.height / 2 - side / 2);
        const cv::Rect roi = cv::Rect(cvFloor(origin.x), cvFloor(origin.y), cvCeil(side) + 1, cvCeil(side) + 1) &
                             cv::Rect(0, 0, photo.cols, photo.rows);
        if (roi.empty()) return false;
        // The part of the square inside the photo, resampled and placed; black outside it.
        const double k = kVerifyView / side;
        const cv::Size size = scaled_size(roi.width, roi.height, k);
        cv::Mat resized;
        cv::resize(photo(roi), resized, size, 0, 0, k < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
        const cv::Point at(static_cast<int>(std::lround((roi.x - origin.x) * k)),
                           static_cast<int>(std::lround((roi.y - origin.y) * k)));
        const cv::Rect canvas_rect(0, 0, kVerifyView, kVerifyView);
        const cv::Rect dst = cv::Rect(at, size) & canvas_rect;
        cv::Mat crop(kVerifyView, kVerifyView, CV_8UC3, cv::Scalar::all(0));
        if (dst.empty()) return false;
        resized(cv::Rect(dst.tl() - at, dst.size())).copyTo(crop(dst));
        cv::Mat rows;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            verifier_->detect(crop, rows);
        }
        // Crop -> photo.
        const double sx = static_cast<double>(roi.width) / size.width, sy = static_cast<double>(roi.height) / size.height;
        for (int i = 0; i < rows.rows; ++i) {
            const float* r = rows.ptr<float>(i);
            if (r[14] < verify_score()) continue;
            const cv::Rect2f back(static_cast<float>(roi.x + (r[0] - at.x) * sx), static_cast<float>(roi.y + (r[1] - at.y) * sy),
                                  static_cast<float>(r[2] * sx), static_cast<float>(r[3] * sy));
            if (iou(back, f.box) >= 0.5f) {
                verified.push_back(f.box);
                return true;
            }
        }
        return false;
    }

    // YuNet holds ~90 MB per megapixel of its input (cv::dnn keeps every layer's output), so a
    // fine view is cut into tiles of at most kTileSide a side: the detector's memory is then one
    // tile's whatever the photo or --detect-max-side (a 2048x2048 view would take ~370 MB), and
    // all tiles of a view share one input size, so cv::dnn does not re-allocate per tile. Fine
    // views only report faces up to kReliableFaceSide, so with tiles overlapping by kTileOverlap each
    // such face lies whole in the tile that owns its centre (detect_at).
    static constexpr int kTileSide = 1024;
    static constexpr int kTileOverlap = 320;

    // Origins of tiles of `tile` pixels covering `length` with at least kTileOverlap overlap.
    static std::vector<int> tile_origins(int length, int tile) {
        if (length <= tile) return {0};
        const int n = 1 + (length - tile + (tile - kTileOverlap) - 1) / (tile - kTileOverlap);
        std::vector<int> origins;
        for (int k = 0; k < n; ++k)
            origins.push_back(static_cast<int>(std::lround(static_cast<double>(k) * (length - tile) / (n - 1))));
        return origins;
    }

    // Faces in full-resolution coordinates from a view `scale` times the photo's size; with
    // max_face > 0, faces larger than that (in view pixels) are dropped, and a view larger than
    // a tile is run tile by tile.
    std::vector<Face> detect_at(cv::Mat view, double scale, float max_face) const {
        const cv::Rect whole(0, 0, view.cols, view.rows);
        const bool tiled = max_face > 0 && max_face / 2 + 16 <= kTileOverlap / 2 &&
                           (view.cols > kTileSide || view.rows > kTileSide);
        if (!tiled) return detect_tile(view, whole, whole, scale, max_face);
        const int tw = std::min(kTileSide, view.cols), th = std::min(kTileSide, view.rows);
        const std::vector<int> xs = tile_origins(view.cols, tw), ys = tile_origins(view.rows, th);
        // Each tile owns the faces centred between the middles of its overlaps with its
        // neighbours: such a face, at most max_face a side, lies whole inside the tile.
        const auto own = [](const std::vector<int>& o, std::size_t k, int tile, int length) {
            const int lo = k == 0 ? 0 : (o[k] + o[k - 1] + tile) / 2;
            const int hi = k + 1 == o.size() ? length : (o[k + 1] + o[k] + tile) / 2;
            return std::make_pair(lo, hi);
        };
        std::vector<Face> faces;
        for (std::size_t j = 0; j < ys.size(); ++j)
            for (std::size_t i = 0; i < xs.size(); ++i) {
                const auto [x0, x1] = own(xs, i, tw, view.cols);
                const auto [y0, y1] = own(ys, j, th, view.rows);
                std::vector<Face> found = detect_tile(view(cv::Rect(xs[i], ys[j], tw, th)), cv::Rect(xs[i], ys[j], tw, th),
                                                      cv::Rect(x0, y0, x1 - x0, y1 - y0), scale, max_face);
                faces.insert(faces.end(), found.begin(), found.end());
            }
        return faces;
    }

    // The faces centred in `owned` (view pixels) of one tile at `where` of the view.
    std::vector<Face> detect_tile(cv::Mat tile, cv::Rect where, cv::Rect owned, double scale, float max_face) const {
        const cv::Rect2f real_area(0.f, 0.f, static_cast<float>(tile.cols), static_cast<float>(tile.rows));
        if (tile.cols < kYuNetMinSide || tile.rows < kYuNetMinSide) {
            cv::copyMakeBorder(tile, tile, 0, std::max(0, kYuNetMinSide - tile.rows), 0,
                               std::max(0, kYuNetMinSide - tile.cols), cv::BORDER_CONSTANT, cv::Scalar::all(0));
        }
        cv::Mat rows;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            net_->setInputSize(tile.size());
            net_->detect(tile, rows);
        }
        const cv::Rect2f owned_in_tile(static_cast<float>(owned.x - where.x), static_cast<float>(owned.y - where.y),
                                       static_cast<float>(owned.width), static_cast<float>(owned.height));
        const float ox = static_cast<float>(where.x), oy = static_cast<float>(where.y);
        std::vector<Face> faces;
        const float inv = static_cast<float>(1.0 / scale);
        for (int i = 0; i < rows.rows; ++i) {
            const float* r = rows.ptr<float>(i);
            if (max_face > 0 && std::max(r[2], r[3]) > max_face) continue;
            const cv::Point2f centre(r[0] + r[2] / 2, r[1] + r[3] / 2);
            // A "face" centred in the padding added for tiny views is not in the photo.
            if (!real_area.contains(centre) || !owned_in_tile.contains(centre)) continue;
            Face f;
            f.box = cv::Rect2f((r[0] + ox) * inv, (r[1] + oy) * inv, r[2] * inv, r[3] * inv);
            // YuNet order: right eye, left eye, nose, right mouth corner, left mouth corner
            // (the subject's sides), which is our eye_left, eye_right, nose, mouth_left, mouth_right.
            for (std::size_t k = 0; k < kNumLandmarks; ++k)
                f.landmarks[k] = cv::Point2f((r[4 + 2 * k] + ox) * inv, (r[5 + 2 * k] + oy) * inv);
            f.score = r[14];
            faces.push_back(f);
        }
        return faces;
    }

    std::string path_;
    std::string sha256_;
    DetectorOptions options_;
    mutable std::mutex mutex_;  // guards both nets (cv::FaceDetectorYN keeps state per call)
    cv::Ptr<cv::FaceDetectorYN> net_;
    cv::Ptr<cv::FaceDetectorYN> verifier_;  // fixed kVerifyView input
};

}  // namespace

std::unique_ptr<FaceDetector> make_yunet_detector(const std::string& onnx_path, const DetectorOptions& options) {
    return std::make_unique<YuNetDetector>(onnx_path, options);
}

}  // namespace aiportrait

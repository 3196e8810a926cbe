// Face detection stage: two OpenCV DNN detectors behind one interface.
#pragma once

#include "aiportrait/options.hpp"
#include "aiportrait/types.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aiportrait {

struct DetectorOptions {
    // double, so sidecars record 0.3 and not 0.30000001192092896
    double score_threshold = defaults::detect_threshold;
    double nms_iou = 0.3;
    // Photos whose longer side exceeds this are detected on a downscaled copy (0 = never);
    // results are mapped back to full-resolution coordinates.
    int max_side = defaults::detect_max_side;
    // Only the most prominent face matters (portrait mode, `identity`): a detector may skip work
    // that cannot change which face that is, so less prominent faces may be missing.
    bool main_face_only = false;
    // Faces whose box is smaller than this (its shorter side, photo pixels) are dropped: a
    // portrait upscales the face to the generator's crop, and below ~40 px the input has lost
    // half of what the identity distance allows before the generator runs (README). 0 = keep all.
    int min_face = defaults::min_face;
    // YuNet: re-detect every candidate that is large in the view that found it on a crop at a
    // canonical scale, dropping those that do not come back (phantoms; see detect.cpp). Off only
    // to see the raw network, e.g. for the tests' reference.
    bool verify = true;
};

// What a detector found.
struct Detection {
    std::vector<Face> faces;      // at least min_face, sorted by descending prominence
    float largest_dropped = 0.f;  // size (face_size) of the largest face under min_face; 0 = none
};

class FaceDetector {
public:
    virtual ~FaceDetector() = default;
    // Faces sorted by descending prominence (see below), in the coordinates of `bgr` (CV_8UC3),
    // and how big the largest face too small to keep was.
    Detection detect(const cv::Mat& bgr) const { return detect(bgr, 1.0); }
    // The same on a photo decoded `pixel_size` times smaller (a JPEG at its 1/2 DCT scale: 2):
    // min_face and largest_dropped are in photo pixels, the faces in the coordinates of `bgr`.
    virtual Detection detect(const cv::Mat& bgr, double pixel_size) const = 0;
    // Just the faces.
    std::vector<Face> run(const cv::Mat& bgr) const { return detect(bgr).faces; }
    virtual std::string name() const = 0;        // "yunet" or "blazeface"
    virtual std::string model_path() const = 0;
    virtual std::string model_sha256() const = 0;
    virtual const DetectorOptions& options() const = 0;
    // The second, independent model that must confirm the faces this detector keeps
    // (face_check.hpp), recorded beside the detector's own; none for a bare detector.
    struct Confirmation {
        std::string model_path, model_sha256;
        double confirm_score = 0;
    };
    virtual std::optional<Confirmation> face_check() const { return std::nullopt; }
};

// YuNet through cv::FaceDetectorYN. Throws std::runtime_error naming the path if the model
// cannot be loaded.
std::unique_ptr<FaceDetector> make_yunet_detector(const std::string& onnx_path,
                                                  const DetectorOptions& options);

// MediaPipe BlazeFace full-range ("back", 256x256) through cv::dnn. Large photos are also
// scanned in overlapping tiles, because the network misses faces under ~60 px of its 256-px
// view. Throws std::runtime_error naming the path if the model cannot be loaded.
std::unique_ptr<FaceDetector> make_blazeface_detector(const std::string& onnx_path,
                                                      const DetectorOptions& options);

// The size min_face is compared with: the shorter side of the box, in pixels.
float face_size(const Face& face);

// Removes faces smaller than min_face (0 = none); returns the size of the largest one removed
// (0 if none was).
float drop_small_faces(std::vector<Face>& faces, double min_face);

// The error for a photo without a usable face: "no face found", or, when there were only faces
// under min_face, "no face of at least 40 px (largest: 23 px)".
std::string no_face_message(const Detection& detection, int min_face);

// How much a face stands out: box area weighted by score^4, so the subject wins over a blurred
// face in the background that the detector is less sure of, and a bigger face wins otherwise.
double prominence(const Face& face);

// Sort faces by descending prominence, the order every detector returns (a portrait uses the
// first).
void sort_by_prominence(std::vector<Face>& faces);

// Intersection over union of two boxes.
float iou(const cv::Rect2f& a, const cv::Rect2f& b);

// Greedy non-maximum suppression: keeps the highest-scoring face of every group overlapping by
// more than max_iou.
std::vector<Face> suppress_overlaps(std::vector<Face> faces, float max_iou);

}  // namespace aiportrait

// Face detection stage: two OpenCV DNN detectors behind one interface.
#pragma once

#include "aiportrait/types.hpp"

#include <memory>
#include <string>
#include <vector>

namespace aiportrait {

struct DetectorOptions {
    // double, so sidecars record 0.3 and not 0.30000001192092896
    double score_threshold = 0.7;
    double nms_iou = 0.3;
    // Photos whose longer side exceeds this are detected on a downscaled copy (0 = never);
    // results are mapped back to full-resolution coordinates.
    int max_side = 2048;
    // Only the most prominent face matters (portrait mode, `identity`): a detector may skip work
    // that cannot change which face that is, so less prominent faces may be missing.
    bool main_face_only = false;
};

class FaceDetector {
public:
    virtual ~FaceDetector() = default;
    // Faces sorted by descending prominence (see below), in the coordinates of `bgr` (CV_8UC3).
    virtual std::vector<Face> run(const cv::Mat& bgr) const = 0;
    virtual std::string name() const = 0;        // "yunet" or "blazeface"
    virtual std::string model_path() const = 0;
    virtual std::string model_sha256() const = 0;
    virtual const DetectorOptions& options() const = 0;
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

// MediaPipe BlazeFace full-range ("back", 256x256) face detector through cv::dnn.
//
// The network sees a 256x256 letterboxed copy of the photo, so faces under roughly 16 px of
// that view (about 60 px of a 1024-px photo) are missed. Large photos are therefore also
// scanned as a pyramid of overlapping square tiles, and every view's detections are merged
// with MediaPipe's weighted NMS in image coordinates.
#include "aiportrait/detect.hpp"
#include "aiportrait/util.hpp"
#include "aiportrait/hash.hpp"
#include "blazeface_net.hpp"
#include "blazeface_views.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace aiportrait {
namespace {

using namespace blazeface;

// Keypoints in the network's order. MediaPipe names them by the subject's side, so its
// "right eye" is the eye on the image's left in an upright face (checked against YuNet).
enum Keypoint : int { kRightEye = 0, kLeftEye, kNoseTip, kMouthCentre, kRightEar, kLeftEar };

// BlazeFace reports only the mouth centre; the corners are placed along the eye axis with
// the mouth width / eye distance ratio of the FFHQ alignment template
// (mouth corners 201.26..313.09, eyes 192.98..318.90 -> ~0.888; YuNet's corners on the
// eval photos give a median of 0.889 too).
constexpr float kMouthWidthPerEyeDistance = (313.09f - 201.26f) / (318.90f - 192.98f);
// BlazeFace's mouth point sits on the lips' centre, below the line through the corners:
// against YuNet's corners on 49 eval faces it is a median 0.10 eye distances lower.
constexpr float kMouthCentreBelowCorners = 0.10f;

// Tile starts along one axis: evenly spread, first at 0, last flush with the far edge, and
// neighbours overlapping by at least `overlap` pixels.
Face to_face(const Candidate& c, cv::Size image_size) {
    Face f;
    f.score = c.score;
    f.box = c.box & cv::Rect2f(0.f, 0.f, float(image_size.width), float(image_size.height));
    f.landmarks[kEyeL] = c.kp[kRightEye];
    f.landmarks[kEyeR] = c.kp[kLeftEye];
    f.landmarks[kNose] = c.kp[kNoseTip];
    // Eye axis from the image-left to the image-right eye; rotated +90 degrees it points
    // down the face (image y grows downwards).
    const cv::Point2f eye_axis = c.kp[kLeftEye] - c.kp[kRightEye];
    const cv::Point2f down(-eye_axis.y, eye_axis.x);
    const cv::Point2f corners_mid = c.kp[kMouthCentre] - down * kMouthCentreBelowCorners;
    const cv::Point2f half_mouth = eye_axis * (0.5f * kMouthWidthPerEyeDistance);
    f.landmarks[kMouthL] = corners_mid - half_mouth;
    f.landmarks[kMouthR] = corners_mid + half_mouth;
    f.mouth_corners_estimated = true;
    return f;
}

class BlazeFaceDetector final : public FaceDetector {
public:
    BlazeFaceDetector(std::string path, const DetectorOptions& options)
        : path_(std::move(path)), options_(options), anchors_(anchor_centres(kNetSize)),
          net_(path_, kNetSize, "BlazeFace full-range 256x256") {
        sha256_ = sha256_file(path_);
    }

    using FaceDetector::detect;
    Detection detect(const cv::Mat& bgr, double pixel_size) const override {
        if (bgr.empty() || bgr.type() != CV_8UC3)
            throw std::invalid_argument("BlazeFace detector expects a non-empty CV_8UC3 image");

        // Detect on a downscaled copy of very large photos; map back at the end.
        cv::Mat work = bgr;
        double down = 1.0;
        const int longer = std::max(bgr.cols, bgr.rows);
        if (options_.max_side > 0 && longer > options_.max_side) {
            down = double(options_.max_side) / longer;
            work = shrink_to_side(bgr, options_.max_side);
        }

        std::vector<Candidate> all;
        for (const View& v : plan_views(work.size())) detect_view(work, v, all);
        std::vector<Candidate> merged = drop_contained(weighted_nms(std::move(all), options_.nms_iou));

        std::vector<Face> faces;
        const float inv = float(1.0 / down);
        for (Candidate& c : merged) {
            if (down != 1.0) {
                c.box = cv::Rect2f(c.box.x * inv, c.box.y * inv, c.box.width * inv,
                                   c.box.height * inv);
                for (auto& p : c.kp) p *= inv;
            }
            faces.push_back(to_face(c, bgr.size()));
        }
        Detection result;
        result.largest_dropped =
            static_cast<float>(pixel_size * drop_small_faces(faces, options_.min_face / pixel_size));
        sort_by_prominence(faces);
        result.faces = std::move(faces);
        return result;
    }

    std::string name() const override { return "blazeface"; }
    std::string model_path() const override { return path_; }
    std::string model_sha256() const override { return sha256_; }
    const DetectorOptions& options() const override { return options_; }

private:
    void detect_view(const cv::Mat& work, const View& v, std::vector<Candidate>& out) const {
        // Letterbox/tile into the input; padding is black, as in MediaPipe.
        cv::Mat canvas(kNetSize, kNetSize, CV_8UC3, cv::Scalar::all(0));
        const cv::Size scaled(std::lround(v.region.width * v.scale.x),
                              std::lround(v.region.height * v.scale.y));
        const cv::Rect dst(cv::Point(int(v.offset.x), int(v.offset.y)), scaled);
        const int interp = v.scale.x < 1.f ? cv::INTER_AREA : cv::INTER_LINEAR;
        cv::Mat roi = canvas(dst);
        cv::resize(work(v.region), roi, scaled, 0, 0, interp);
        cv::Mat rgb, input;
        cv::cvtColor(canvas, rgb, cv::COLOR_BGR2RGB);
        rgb.convertTo(input, CV_32FC3, 2.0 / 255.0, -1.0);

        const Network::Outputs o = net_.forward(input);
        const float region_x0 = float(v.region.x), region_y0 = float(v.region.y);
        auto to_image = [&](float nx, float ny) {
            return cv::Point2f((nx - v.offset.x) / v.scale.x + region_x0,
                               (ny - v.offset.y) / v.scale.y + region_y0);
        };
        const float margin = kCutMarginNet / v.scale.x;
        const cv::Rect2f r(v.region);

        auto decode = [&](const cv::Mat& scores, const cv::Mat& boxes, int count, int first) {
            const float* sc = scores.ptr<float>();
            const float* bx = boxes.ptr<float>();
            for (int i = 0; i < count; ++i) {
                const float score = sigmoid_score(sc[i]);
                if (score < options_.score_threshold) continue;
                const float* reg = bx + std::size_t(i) * kNumRegressors;
                const cv::Point2f a = anchors_[first + i];
                Candidate c;
                c.score = score;
                const cv::Point2f centre = to_image(a.x + reg[0], a.y + reg[1]);
                const float w = reg[2] / v.scale.x, h = reg[3] / v.scale.y;
                if (!(w > 0.f && h > 0.f)) continue;
                if (w > v.max_face && score < kOversizeTileScore) continue;
                c.box = cv::Rect2f(centre.x - w / 2, centre.y - h / 2, w, h);
                for (int k = 0; k < kNumKeypoints; ++k)
                    c.kp[k] = to_image(a.x + reg[4 + 2 * k], a.y + reg[5 + 2 * k]);
                if ((v.cut_left && c.box.x < r.x + margin) ||
                    (v.cut_top && c.box.y < r.y + margin) ||
                    (v.cut_right && c.box.br().x > r.br().x - margin) ||
                    (v.cut_bottom && c.box.br().y > r.br().y - margin))
                    continue;
                out.push_back(c);
            }
        };
        decode(o.fine_scores, o.fine_boxes, kFineAnchors, 0);
        decode(o.coarse_scores, o.coarse_boxes, kCoarseAnchors, kFineAnchors);
    }

    std::string path_;
    DetectorOptions options_;
    std::vector<cv::Point2f> anchors_;
    std::string sha256_;
    Network net_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_blazeface_detector(const std::string& onnx_path,
                                                      const DetectorOptions& options) {
    return std::make_unique<BlazeFaceDetector>(onnx_path, options);
}

}  // namespace aiportrait

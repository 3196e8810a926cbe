// The second opinion on detected faces: BlazeFace short-range on an upright crop (face_check.hpp).
#include "aiportrait/face_check.hpp"
#include "aiportrait/hash.hpp"
#include "blazeface_net.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

namespace aiportrait {
namespace {

using blazeface::kCoarseAnchors;
using blazeface::kFineAnchors;
using blazeface::kNumRegressors;

constexpr int kNetSize = 128;
// The crop's side in units of the face box's longer side; the check takes the best of these views.
constexpr float kContexts[] = {1.5f, 2.0f};
// How much a check detection must overlap the face to count as the same face.
constexpr float kSameFaceIou = 0.3f;

}  // namespace

struct FaceCheck::Impl {
    explicit Impl(std::string p) : path(std::move(p)), net(path, kNetSize, "BlazeFace short-range 128x128") {}
    std::string path, sha256;
    blazeface::Network net;
    std::vector<cv::Point2f> anchors = blazeface::anchor_centres(kNetSize);

    double score(const cv::Mat& bgr, const Face& face, float context) const;
};

FaceCheck::FaceCheck(const std::string& onnx_path) : impl_(std::make_unique<Impl>(onnx_path)) {
    impl_->sha256 = sha256_file(onnx_path);
}

FaceCheck::~FaceCheck() = default;

const std::string& FaceCheck::model_path() const { return impl_->path; }
const std::string& FaceCheck::model_sha256() const { return impl_->sha256; }

double FaceCheck::score(const cv::Mat& bgr, const Face& face) const {
    if (bgr.empty() || bgr.type() != CV_8UC3) throw std::invalid_argument("FaceCheck expects a non-empty CV_8UC3 image");
    double best = 0.0;
    for (const float context : kContexts) best = std::max(best, impl_->score(bgr, face, context));
    return best;
}

double FaceCheck::Impl::score(const cv::Mat& bgr, const Face& face, float context) const {
    const float side = context * std::max(face.box.width, face.box.height);
    if (!(side > 0.f)) return 0.0;
    // Upright: rotate about the box centre so the eyes are level (the short-range model was
    // trained on upright faces), scale the crop to the net, centre the face.
    const cv::Point2f centre(face.box.x + face.box.width / 2, face.box.y + face.box.height / 2);
    const cv::Point2f eyes = face.landmarks[kEyeR] - face.landmarks[kEyeL];
    const double angle = eyes.x == 0.f && eyes.y == 0.f ? 0.0 : std::atan2(eyes.y, eyes.x) * 180.0 / CV_PI;
    const double k = kNetSize / side;
    cv::Mat to_net = cv::getRotationMatrix2D(centre, angle, k);
    to_net.at<double>(0, 2) += kNetSize / 2.0 - centre.x;
    to_net.at<double>(1, 2) += kNetSize / 2.0 - centre.y;
    cv::Mat crop, rgb, input;
    // Outside the photo is black, as MediaPipe pads. Bilinear even when shrinking a big face
    // (warpAffine has no area filter): the thresholds were measured this way, faces up to 1,300 px.
    cv::warpAffine(bgr, crop, to_net, cv::Size(kNetSize, kNetSize), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                   cv::Scalar::all(0));
    cv::cvtColor(crop, rgb, cv::COLOR_BGR2RGB);
    rgb.convertTo(input, CV_32FC3, 2.0 / 255.0, -1.0);
    const blazeface::Network::Outputs out = net.forward(input);

    const float w = float(face.box.width * k), h = float(face.box.height * k);
    const cv::Rect2f expected(kNetSize / 2.f - w / 2, kNetSize / 2.f - h / 2, w, h);
    double best = 0.0;
    auto scan = [&](const cv::Mat& scores, const cv::Mat& boxes, int count, int first) {
        const float* sc = scores.ptr<float>();
        const float* bx = boxes.ptr<float>();
        for (int i = 0; i < count; ++i) {
            const double s = blazeface::sigmoid_score(sc[i]);
            if (s <= best) continue;
            const float* reg = bx + std::size_t(i) * kNumRegressors;
            const cv::Point2f a = anchors[first + i];
            if (!(reg[2] > 0.f && reg[3] > 0.f)) continue;
            const cv::Rect2f box(a.x + reg[0] - reg[2] / 2, a.y + reg[1] - reg[3] / 2, reg[2], reg[3]);
            if (iou(box, expected) >= kSameFaceIou) best = s;
        }
    };
    scan(out.fine_scores, out.fine_boxes, kFineAnchors, 0);
    scan(out.coarse_scores, out.coarse_boxes, kCoarseAnchors, kFineAnchors);
    return best;
}

namespace {

class SecondOpinionDetector final : public FaceDetector {
public:
    SecondOpinionDetector(std::unique_ptr<FaceDetector> inner, std::shared_ptr<const FaceCheck> check,
                          std::unique_ptr<FaceDetector> every_view, double confirm)
        : inner_(std::move(inner)), check_(std::move(check)), every_view_(std::move(every_view)), confirm_(confirm) {
        if (!inner_ || !check_) throw std::invalid_argument("with_second_opinion: no detector or no check");
    }

    using FaceDetector::detect;
    Detection detect(const cv::Mat& bgr, double pixel_size) const override {
        Detection d = inner_->detect(bgr, pixel_size);
        const std::size_t first = confirmed_from(bgr, d);
        if (first == 0 || !every_view_) return keep_from(std::move(d), first);
        // The main-face-only scan stopped at a face the check turned down: the subject may be in a
        // view it skipped, so look again with every view.
        Detection all = every_view_->detect(bgr, pixel_size);
        const std::size_t first_in_all = confirmed_from(bgr, all);
        return keep_from(std::move(all), first_in_all);
    }

    std::string name() const override { return inner_->name(); }
    std::string model_path() const override { return inner_->model_path(); }
    std::string model_sha256() const override { return inner_->model_sha256(); }
    const DetectorOptions& options() const override { return inner_->options(); }
    std::optional<Confirmation> face_check() const override {
        return Confirmation{check_->model_path(), check_->model_sha256(), confirm_};
    }

private:
    // Faces come sorted by prominence: the index of the first confirmed one (size() if none).
    std::size_t confirmed_from(const cv::Mat& bgr, const Detection& d) const {
        std::size_t first = 0;
        while (first < d.faces.size() && check_->score(bgr, d.faces[first]) < confirm_) ++first;
        return first;
    }
    // The first confirmed face and everything after it.
    static Detection keep_from(Detection d, std::size_t first) {
        d.faces.erase(d.faces.begin(), d.faces.begin() + static_cast<std::ptrdiff_t>(first));
        return d;
    }

    std::unique_ptr<FaceDetector> inner_;
    std::shared_ptr<const FaceCheck> check_;
    std::unique_ptr<FaceDetector> every_view_;  // may be null
    double confirm_;
};

}  // namespace

std::unique_ptr<FaceDetector> with_second_opinion(std::unique_ptr<FaceDetector> detector,
                                                  std::shared_ptr<const FaceCheck> check,
                                                  std::unique_ptr<FaceDetector> every_view, double confirm_score) {
    return std::make_unique<SecondOpinionDetector>(std::move(detector), std::move(check), std::move(every_view),
                                                   confirm_score);
}

}  // namespace aiportrait

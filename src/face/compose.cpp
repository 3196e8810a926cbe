#include "aiportrait/compose.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace aiportrait {

cv::Mat face_mask(const CropTemplate& tmpl, double feather) {
    const int size = tmpl.size;
    const Landmarks p = tmpl.pixel_points();
    const cv::Point2f eyes = (p[kEyeL] + p[kEyeR]) * 0.5f, mouth = (p[kMouthL] + p[kMouthR]) * 0.5f;
    const double eye_distance = cv::norm(p[kEyeR] - p[kEyeL]);
    // Proportions measured on the FFHQ template: the face oval is centred a little below the
    // eyes and spans about 2.9 x 3.5 eye distances.
    const double cx = eyes.x, cy = eyes.y + 0.45 * (mouth.y - eyes.y);
    // Keep the whole ellipse one pixel inside the crop so its warp has exact zeros outside.
    const double rx = std::min(1.45 * eye_distance, std::min(cx, size - cx) - 1.0);
    const double ry = std::min(1.75 * eye_distance, std::min(cy, size - cy) - 1.0);
    const double fw = std::clamp(feather, 1e-3, 1.0);
    cv::Mat mask(size, size, CV_32F);
    for (int y = 0; y < size; ++y) {
        float* row = mask.ptr<float>(y);
        for (int x = 0; x < size; ++x) {
            const double dx = (x + 0.5 - cx) / rx, dy = (y + 0.5 - cy) / ry;
            const double r = std::sqrt(dx * dx + dy * dy);  // 1 on the ellipse
            // Inside 1 - fw: all new face; smoothstep down to exactly 0 at the ellipse.
            const double t = std::clamp((1.0 - r) / fw, 0.0, 1.0);
            row[x] = static_cast<float>(t * t * (3 - 2 * t));
        }
    }
    return mask;
}

cv::Mat paste_faces(const cv::Mat& photo, const std::vector<GeneratedFace>& faces, const CropTemplate& tmpl,
                    double feather) {
    cv::Mat out = photo.clone();
    const cv::Mat mask = face_mask(tmpl, feather);
    const cv::Rect frame(0, 0, photo.cols, photo.rows);
    for (const GeneratedFace& face : faces) {
        const int size = face.aligned.size;
        // Only the photo region the crop maps to is warped: cheap even on a 24-MP photo.
        std::vector<cv::Point2f> corners;
        for (const cv::Point2f& c : {cv::Point2f(0, 0), cv::Point2f(float(size), 0), cv::Point2f(0, float(size)),
                                     cv::Point2f(float(size), float(size))})
            corners.push_back(apply_affine(face.aligned.inverse, c));
        cv::Rect roi = cv::boundingRect(corners);
        roi.x -= 1; roi.y -= 1; roi.width += 2; roi.height += 2;
        roi &= frame;
        if (roi.empty()) continue;

        // crop -> photo ROI coordinates: shift the inverse by the ROI origin.
        cv::Matx23d to_roi = face.aligned.inverse;
        to_roi(0, 2) -= roi.x;
        to_roi(1, 2) -= roi.y;
        cv::Mat warped_face, warped_mask;
        cv::warpAffine(face.generated, warped_face, to_roi, roi.size(), cv::INTER_CUBIC, cv::BORDER_REPLICATE);
        cv::warpAffine(mask, warped_mask, to_roi, roi.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);

        cv::Mat region = out(roi);
        for (int y = 0; y < roi.height; ++y) {
            const float* a = warped_mask.ptr<float>(y);
            const cv::Vec3b* g = warped_face.ptr<cv::Vec3b>(y);
            cv::Vec3b* p = region.ptr<cv::Vec3b>(y);
            for (int x = 0; x < roi.width; ++x) {
                if (a[x] <= 0.f) continue;  // outside the face: leave the photo's bytes alone
                for (int c = 0; c < 3; ++c) {
                    const float v = p[x][c] + a[x] * (static_cast<float>(g[x][c]) - p[x][c]);
                    p[x][c] = cv::saturate_cast<uchar>(v);
                }
            }
        }
    }
    return out;
}

cv::Mat blend_with_input(const cv::Mat& aligned, const cv::Mat& generated, double strength) {
    cv::Mat out;
    cv::addWeighted(aligned, 1.0 - strength, generated, strength, 0.0, out);
    return out;
}

}  // namespace aiportrait

#include "aiportrait/compose.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

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

namespace {

// Luma (0-255) of a BGR image, float.
cv::Mat luma_of(const cv::Mat& bgr) {
    cv::Mat f, y;
    bgr.convertTo(f, CV_32F);
    cv::transform(f, y, cv::Matx13f(0.114f, 0.587f, 0.299f));
    return y;
}

// Robust standard deviation (1.4826 x median absolute value) of the detail finer than a
// Gaussian of `sigma` px, over the pixels where `weight` >= 0.5. MAD rather than RMS so that a
// few strong edges (eyelids, hairline) do not count as texture.
double fine_detail_sigma(const cv::Mat& luma, const cv::Mat& weight, double sigma) {
    cv::Mat low;
    cv::GaussianBlur(luma, low, cv::Size(), sigma, sigma, cv::BORDER_REFLECT_101);
    std::vector<float> values;
    for (int y = 0; y < luma.rows; ++y) {
        const float *l = luma.ptr<float>(y), *b = low.ptr<float>(y), *w = weight.ptr<float>(y);
        for (int x = 0; x < luma.cols; ++x)
            if (w[x] >= 0.5f) values.push_back(std::abs(l[x] - b[x]));
    }
    if (values.size() < 16) return 0.0;
    auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
    std::nth_element(values.begin(), mid, values.end());
    return 1.4826 * *mid;
}

// Zero-mean luma grain of standard deviation `amount`, slightly correlated (sigma 0.5 px) like a
// demosaiced, compressed photo's; seeded from the region so the same photo gives the same bytes.
cv::Mat grain_field(cv::Size size, double amount, const cv::Rect& roi) {
    cv::RNG rng(0x9E3779B97F4A7C15ull ^ (static_cast<std::uint64_t>(roi.x) << 40) ^
                (static_cast<std::uint64_t>(roi.y) << 20) ^ static_cast<std::uint64_t>(roi.width));
    cv::Mat noise(size, CV_32F);
    rng.fill(noise, cv::RNG::NORMAL, 0.0, 1.0);
    cv::GaussianBlur(noise, noise, cv::Size(), 0.5, 0.5, cv::BORDER_REFLECT_101);
    cv::Scalar mean, sd;
    cv::meanStdDev(noise, mean, sd);
    noise.convertTo(noise, CV_32F, sd[0] > 0 ? amount / sd[0] : 0.0, sd[0] > 0 ? -mean[0] * amount / sd[0] : 0.0);
    return noise;
}

}  // namespace

double crop_to_photo_scale(const cv::Matx23d& inverse) {
    return std::sqrt(std::abs(inverse(0, 0) * inverse(1, 1) - inverse(0, 1) * inverse(1, 0)));
}

cv::Mat paste_faces(const cv::Mat& photo, const std::vector<GeneratedFace>& faces, const CropTemplate& tmpl,
                    double feather, double grain) {
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

        // Grain matching. Where the face is larger in the photo than in the crop, the portrait
        // is upscaled and lacks the detail finer than one crop pixel that the skin, hair and
        // noise around it have: a soft oval in a sharp photo. So the photo's own amount of that
        // detail inside the face is measured, and what the portrait lacks of it is added as
        // fine luma grain. Synthetic grain, not the photo's residual: that would put the
        // original's fine lines back where the portrait re-drew them (doubled contours).
        cv::Mat grain_map;
        const double k = crop_to_photo_scale(face.aligned.inverse);
        if (grain > 0 && k > 1.2) {
            const double band = 0.5 * k;  // the detail finer than one crop pixel, in photo px
            const double photo_sigma = fine_detail_sigma(luma_of(photo(roi)), warped_mask, band);
            const double face_sigma = fine_detail_sigma(luma_of(warped_face), warped_mask, band);
            const double missing = std::sqrt(std::max(0.0, photo_sigma * photo_sigma - face_sigma * face_sigma));
            if (missing > 0.25) grain_map = grain_field(roi.size(), grain * missing, roi);
        }

        cv::Mat region = out(roi);
        for (int y = 0; y < roi.height; ++y) {
            const float* a = warped_mask.ptr<float>(y);
            const float* n = grain_map.empty() ? nullptr : grain_map.ptr<float>(y);
            const cv::Vec3b* g = warped_face.ptr<cv::Vec3b>(y);
            cv::Vec3b* p = region.ptr<cv::Vec3b>(y);
            for (int x = 0; x < roi.width; ++x) {
                if (a[x] <= 0.f) continue;  // outside the face: leave the photo's bytes alone
                const float noise = n ? n[x] : 0.f;
                for (int c = 0; c < 3; ++c) {
                    const float v = p[x][c] + a[x] * (static_cast<float>(g[x][c]) + noise - p[x][c]);
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


bool is_grey(const cv::Mat& bgr) {
    CV_Assert(bgr.type() == CV_8UC3);
    if (bgr.empty()) return false;
    std::size_t coloured = 0;
    for (int y = 0; y < bgr.rows; ++y) {
        const cv::Vec3b* row = bgr.ptr<cv::Vec3b>(y);
        for (int x = 0; x < bgr.cols; ++x) {
            const int b = row[x][0], g = row[x][1], r = row[x][2];
            coloured += std::max({b, g, r}) - std::min({b, g, r}) > 3;
        }
    }
    return coloured * 1000 <= bgr.total() * 5;
}

cv::Mat keep_grey(const cv::Mat& aligned, const cv::Mat& generated) {
    if (!is_grey(aligned)) return generated;
    cv::Mat luma, grey;
    cv::cvtColor(generated, luma, cv::COLOR_BGR2GRAY);
    cv::cvtColor(luma, grey, cv::COLOR_GRAY2BGR);
    return grey;
}

}  // namespace aiportrait

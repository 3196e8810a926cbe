#include "aiportrait/align.hpp"
#include "aiportrait/util.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace aiportrait {

CropTemplate CropTemplate::ffhq(int size, double margin) {
    CropTemplate t;
    const double s = 512.0;
    t.points = {cv::Point2f(192.98 / s, 239.95 / s), cv::Point2f(318.90 / s, 240.19 / s),
                cv::Point2f(256.63 / s, 314.02 / s), cv::Point2f(201.26 / s, 371.41 / s),
                cv::Point2f(313.09 / s, 371.15 / s)};
    t.margin = margin;
    t.size = size;
    return t;
}

Landmarks CropTemplate::pixel_points() const {
    Landmarks out;
    const double shrink = 1.0 / (1.0 + 2.0 * margin);
    for (std::size_t i = 0; i < kNumLandmarks; ++i) {
        out[i].x = static_cast<float>(size * (0.5 + (points[i].x - 0.5) * shrink));
        out[i].y = static_cast<float>(size * (0.5 + (points[i].y - 0.5) * shrink));
    }
    return out;
}

cv::Matx23d estimate_similarity(const Landmarks& from, const Landmarks& to,
                                const std::array<double, kNumLandmarks>& weights) {
    // Weighted Umeyama for 2-D: centre both sets, then the optimal rotation+scale is
    // [a -b; b a] with a = sum w (x.x'), b = sum w (x cross x'), divided by sum w |x|^2.
    double wsum = 0, fx = 0, fy = 0, tx = 0, ty = 0;
    for (std::size_t i = 0; i < kNumLandmarks; ++i) {
        wsum += weights[i];
        fx += weights[i] * from[i].x; fy += weights[i] * from[i].y;
        tx += weights[i] * to[i].x;   ty += weights[i] * to[i].y;
    }
    fx /= wsum; fy /= wsum; tx /= wsum; ty /= wsum;
    double dot = 0, cross = 0, norm = 0;
    for (std::size_t i = 0; i < kNumLandmarks; ++i) {
        const double ax = from[i].x - fx, ay = from[i].y - fy;
        const double bx = to[i].x - tx, by = to[i].y - ty;
        dot += weights[i] * (ax * bx + ay * by);
        cross += weights[i] * (ax * by - ay * bx);
        norm += weights[i] * (ax * ax + ay * ay);
    }
    if (norm <= 1e-12) return cv::Matx23d(1, 0, tx - fx, 0, 1, ty - fy);
    const double a = dot / norm, b = cross / norm;
    return cv::Matx23d(a, -b, tx - (a * fx - b * fy),
                       b, a, ty - (b * fx + a * fy));
}

cv::Matx23d invert_affine(const cv::Matx23d& m) {
    cv::Matx23d inv;
    cv::invertAffineTransform(m, inv);
    return inv;
}

cv::Point2f apply_affine(const cv::Matx23d& m, const cv::Point2f& p) {
    return cv::Point2f(static_cast<float>(m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2)),
                       static_cast<float>(m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)));
}

namespace {

// Photo -> crop for `face`. Estimated mouth corners (BlazeFace) count half, so they cannot drag
// the fit.
cv::Matx23d crop_matrix(const Face& face, const CropTemplate& tmpl) {
    const double mouth_weight = face.mouth_corners_estimated ? 0.5 : 1.0;
    const std::array<double, kNumLandmarks> weights = {1.0, 1.0, 1.0, mouth_weight, mouth_weight};
    return estimate_similarity(face.landmarks, tmpl.pixel_points(), weights);
}

double matrix_scale(const cv::Matx23d& m) {
    return std::sqrt(std::abs(m(0, 0) * m(1, 1) - m(0, 1) * m(1, 0)));
}

// a after b, as 2x3 affine matrices.
cv::Matx23d compose(const cv::Matx23d& a, const cv::Matx23d& b) {
    return cv::Matx23d(a(0, 0) * b(0, 0) + a(0, 1) * b(1, 0), a(0, 0) * b(0, 1) + a(0, 1) * b(1, 1),
                       a(0, 0) * b(0, 2) + a(0, 1) * b(1, 2) + a(0, 2),
                       a(1, 0) * b(0, 0) + a(1, 1) * b(1, 0), a(1, 0) * b(0, 1) + a(1, 1) * b(1, 1),
                       a(1, 0) * b(0, 2) + a(1, 1) * b(1, 2) + a(1, 2));
}

}  // namespace

cv::Matx23d reduced_to_photo(int denom) {
    const double d = denom, shift = (d - 1.0) / 2.0;
    return cv::Matx23d(d, 0, shift, 0, d, shift);
}

Face map_face(const Face& face, const cv::Matx23d& m) {
    Face out = face;
    const cv::Point2f tl = apply_affine(m, face.box.tl());
    out.box = cv::Rect2f(tl.x, tl.y, static_cast<float>(face.box.width * m(0, 0)),
                         static_cast<float>(face.box.height * m(1, 1)));
    for (std::size_t k = 0; k < kNumLandmarks; ++k) out.landmarks[k] = apply_affine(m, face.landmarks[k]);
    return out;
}

int max_align_denom(const Face& face, const CropTemplate& tmpl) {
    const double scale = matrix_scale(crop_matrix(face, tmpl));
    for (int d : {8, 4, 2})
        if (1.5 * scale * d <= 1.0) return d;
    return 1;
}

AlignedFace align_face_reduced(const cv::Mat& reduced, int denom, const Face& face, const CropTemplate& tmpl) {
    if (denom == 1) return align_face(reduced, face, tmpl);
    const cv::Matx23d to_photo = reduced_to_photo(denom);
    const cv::Matx23d to_reduced = invert_affine(to_photo);
    AlignedFace out = align_face(reduced, map_face(face, to_reduced), tmpl);
    out.matrix = compose(out.matrix, to_reduced);
    out.inverse = invert_affine(out.matrix);
    return out;
}

AlignedFace align_face(const cv::Mat& bgr, const Face& face, const CropTemplate& tmpl) {
    AlignedFace out;
    out.size = tmpl.size;
    out.matrix = crop_matrix(face, tmpl);
    out.inverse = invert_affine(out.matrix);
    out.crop = warp_to_crop(bgr, out.matrix, tmpl.size);
    return out;
}

cv::Mat warp_to_crop(const cv::Mat& bgr, const cv::Matx23d& matrix, int size) {
    const cv::Matx23d inverse = invert_affine(matrix);
    // Region of the photo the crop sees, with a little slack for interpolation.
    const cv::Size crop_size(size, size);
    std::vector<cv::Point2f> corners = {apply_affine(inverse, {0, 0}), apply_affine(inverse, {float(size), 0}),
                                        apply_affine(inverse, {0, float(size)}),
                                        apply_affine(inverse, {float(size), float(size)})};
    cv::Rect region = cv::boundingRect(corners);
    region.x -= 2; region.y -= 2; region.width += 4; region.height += 4;
    const cv::Rect inside = region & cv::Rect(0, 0, bgr.cols, bgr.rows);
    const double scale = matrix_scale(matrix);

    cv::Mat crop;
    if (scale < 0.5 && inside.area() > 0) {
        // Shrinking by more than 2x: area-resample the region first (warpAffine's bilinear
        // sampling would alias), then warp the smaller image with the matrix adjusted for it.
        const double pre = std::min(1.0, scale * 1.5);
        cv::Mat small;
        // Explicit size: a region a few pixels thin would otherwise round to zero and throw.
        const cv::Size small_size = scaled_size(inside.width, inside.height, pre);
        cv::resize(bgr(inside), small, small_size, 0, 0, cv::INTER_AREA);
        const double sx = static_cast<double>(small.cols) / inside.width;
        const double sy = static_cast<double>(small.rows) / inside.height;
        // resize maps pixel centres: p = (p_small + 0.5) / s - 0.5 + region origin, so
        // crop = M * p becomes a matrix on p_small.
        const cv::Matx23d small_to_photo(1.0 / sx, 0, 0.5 / sx - 0.5 + inside.x,
                                         0, 1.0 / sy, 0.5 / sy - 0.5 + inside.y);
        cv::warpAffine(small, crop, compose(matrix, small_to_photo), crop_size, cv::INTER_CUBIC,
                       cv::BORDER_REFLECT_101);
    } else {
        cv::warpAffine(bgr, crop, matrix, crop_size, cv::INTER_CUBIC, cv::BORDER_REFLECT_101);
    }
    return crop;
}

cv::Mat warp_to_crop_reduced(const cv::Mat& reduced, int denom, const cv::Matx23d& matrix, int size) {
    return warp_to_crop(reduced, denom == 1 ? matrix : compose(matrix, reduced_to_photo(denom)), size);
}

}  // namespace aiportrait

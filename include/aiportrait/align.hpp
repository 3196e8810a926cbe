// Alignment stage: a 5-point similarity transform from detected landmarks onto the model's crop
// template, the crop itself, and the inverse used to paste the generated face back.
#pragma once

#include "aiportrait/types.hpp"

namespace aiportrait {

// Where the five landmarks should land in a crop, as fractions of the crop side, before the
// margin is applied. The margin adds context around the template: the template occupies the
// centre 1/(1 + 2*margin) of the crop.
struct CropTemplate {
    Landmarks points{};  // normalised to [0,1], ordered as types.hpp's Landmark
    double margin = 0.0;
    int size = 256;      // crop side in pixels

    // The FFHQ-style template (measured on the 512-px FFHQ alignment), normalised.
    static CropTemplate ffhq(int size, double margin);
    // Template points in crop pixel coordinates, margin applied.
    Landmarks pixel_points() const;
};

// Least-squares similarity (rotation, uniform scale, translation) mapping `from` onto `to`,
// each point weighted (Umeyama's closed form). Returns the 2x3 matrix.
cv::Matx23d estimate_similarity(const Landmarks& from, const Landmarks& to,
                                const std::array<double, kNumLandmarks>& weights);

cv::Matx23d invert_affine(const cv::Matx23d& m);
cv::Point2f apply_affine(const cv::Matx23d& m, const cv::Point2f& p);

// Cuts the aligned crop for `face` out of `bgr` (large faces are area-downsampled first so the
// crop is not aliased; areas outside the photo are mirrored in).
AlignedFace align_face(const cv::Mat& bgr, const Face& face, const CropTemplate& tmpl);

}  // namespace aiportrait

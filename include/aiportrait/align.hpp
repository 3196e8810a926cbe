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
// The size x size crop that `matrix` (photo -> crop) cuts out of `bgr`, as align_face cuts it.
cv::Mat warp_to_crop(const cv::Mat& bgr, const cv::Matx23d& matrix, int size);

// A photo decoded `denom` times smaller (libjpeg's DCT scaling, decode.hpp): its pixel x' covers
// the photo's pixels denom*x' .. denom*x' + denom - 1. Maps coordinates from it to the photo's.
cv::Matx23d reduced_to_photo(int denom);
// A face with its box and landmarks taken through the scale-and-shift `m` (e.g. the above).
Face map_face(const Face& face, const cv::Matx23d& m);

// The largest DCT scale (1, 2, 4 or 8) of the photo from which `face`'s crop loses nothing:
// align_face area-shrinks a large face to 1.5 times the crop's scale before warping it, so a
// photo decoded at least that large holds all the detail the crop keeps.
int max_align_denom(const Face& face, const CropTemplate& tmpl);

// align_face on the photo decoded `denom` times smaller, with `face` and the returned matrices
// in the photo's own coordinates (the sidecar's and paste-back's).
AlignedFace align_face_reduced(const cv::Mat& reduced, int denom, const Face& face, const CropTemplate& tmpl);
// warp_to_crop on the photo decoded `denom` times smaller, `matrix` in the photo's own
// coordinates: the crop a sidecar records (alignment_matrix, crop_size, photo_scale_denom) cut again.
cv::Mat warp_to_crop_reduced(const cv::Mat& reduced, int denom, const cv::Matx23d& matrix, int size);

}  // namespace aiportrait

// Compose stage: puts generated faces back into the photo through the inverse alignment,
// with a feathered mask so there is no seam and no colour jump at the border.
#pragma once

#include "aiportrait/align.hpp"
#include "aiportrait/types.hpp"

#include <vector>

namespace aiportrait {

struct GeneratedFace {
    AlignedFace aligned;  // crop, matrix and inverse of the input face
    cv::Mat generated;    // CV_8UC3, same size as aligned.crop
    Landmarks landmarks{};  // the input face's landmarks, photo coordinates
};

// Blend mask in crop space (CV_32F, size x size, values in [0,1]): an ellipse placed and sized
// from the template's eyes and mouth (brows to chin, ear to ear) that falls smoothly to exactly
// 0 inside the crop border, so warping it back leaves every pixel outside the face
// bit-identical. `feather` is the falloff width as a fraction of the ellipse radius.
cv::Mat face_mask(const CropTemplate& tmpl, double feather);

// Returns a copy of `photo` (CV_8UC3) with every face replaced. Pixels where the warped mask is
// 0 are copied unchanged. Where a face is upscaled from the crop (larger in the photo than the
// crop), `grain` x the photo's fine detail that the portrait lacks is added inside the mask as
// luma grain, deterministic per face (0 = none, 1 = match the photo).
cv::Mat paste_faces(const cv::Mat& photo, const std::vector<GeneratedFace>& faces, const CropTemplate& tmpl,
                    double feather, double grain);

// Photo pixels per crop pixel of an alignment's inverse (crop -> photo) transform.
double crop_to_photo_scale(const cv::Matx23d& inverse);

// Strength fallback for models without a strength input: (1 - s) * aligned + s * generated.
cv::Mat blend_with_input(const cv::Mat& aligned, const cv::Mat& generated, double strength);

// Whether a CV_8UC3 image is grey: at least 99.5 % of its pixels have their three channels
// within 3 of each other (what JPEG's chroma rounding leaves of a grey photo saved in colour).
bool is_grey(const cv::Mat& bgr);

// A grey photo gives a grey portrait: the generator tints grey faces (pink lips, blue eyes), so
// the portrait of a grey crop is replaced by its own luma in all three channels (chroma 0).
// Returns `generated` unchanged when `aligned` is not grey.
cv::Mat keep_grey(const cv::Mat& aligned, const cv::Mat& generated);

}  // namespace aiportrait

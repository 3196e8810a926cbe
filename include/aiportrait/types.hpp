// Value types shared by every stage. Plain data only: no stage logic, no torch types.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace aiportrait {

// The five landmarks every detector reports, in image coordinates. Named as they appear in an
// upright frontal picture: "eye_left" is the eye on the image's left (the subject's right eye).
// The order is semantic, not sorted by x, so a tilted or upside-down face still aligns upright.
// 0 eye_left, 1 eye_right, 2 nose tip, 3 mouth_left corner, 4 mouth_right corner.
enum Landmark : std::size_t { kEyeL = 0, kEyeR = 1, kNose = 2, kMouthL = 3, kMouthR = 4 };
inline constexpr std::size_t kNumLandmarks = 5;
using Landmarks = std::array<cv::Point2f, kNumLandmarks>;
inline constexpr std::array<const char*, kNumLandmarks> kLandmarkNames = {
    "eye_left", "eye_right", "nose", "mouth_left", "mouth_right"};

struct Face {
    float score = 0.f;
    cv::Rect2f box;          // image coordinates
    Landmarks landmarks{};   // image coordinates
    // Detectors that cannot see mouth corners (BlazeFace reports only the mouth centre)
    // estimate them; alignment then trusts them less and the sidecar says so.
    bool mouth_corners_estimated = false;
};

// A face cut out of the photo by a similarity transform onto the model's template.
struct AlignedFace {
    cv::Mat crop;        // CV_8UC3 BGR, size x size
    cv::Matx23d matrix;  // photo -> crop
    cv::Matx23d inverse; // crop -> photo
    int size = 0;
};

// Decoded input photo, normalised to 8-bit BGR (alpha kept separately) and upright.
struct DecodedImage {
    cv::Mat bgr;                 // CV_8UC3, EXIF orientation applied
    cv::Mat alpha;               // CV_8UC1 or empty
    int exif_orientation = 1;    // 1..8 as found in the file; 1 = none
    // JPEGs may be decoded at 1/2, 1/4 or 1/8 of their size (decode.hpp): bgr is then the photo
    // shrunk `scale_denom` times, and photo_size the photo's own (upright) size.
    int scale_denom = 1;
    cv::Size photo_size;
    std::string source_format;   // "FORMAT DEPTH COLOUR", e.g. "png 16-bit gray", "jpeg 8-bit color"
    std::vector<std::string> warnings;
};

// Where the models run (--device).
enum class Device { cpu, cuda };
const char* to_string(Device d);

// Image formats the tool writes (output.hpp's table says how).
enum class ImageFormat { png, jpeg, webp };

// skipped (--skip-existing found it done) and not_started (a signal stopped the run first) are
// statuses of --json records and the run manifest only; sidecars say ok, no_face or error.
enum class Status { ok, no_face, error, skipped, not_started };
const char* to_string(Status s);

enum class OutputKind { portrait, all_faces, paste };
const char* to_string(OutputKind k);

// How the requested strength was realised: passed to the model, or (for a model without a
// strength input) emulated by blending the aligned input back into the generated face.
enum class StrengthMode { model, blend };
const char* to_string(StrengthMode m);

// Per-face outcome of the pipeline, as written to the sidecar.
struct FaceRecord {
    Face face;
    bool used = false;
    cv::Matx23d alignment = cv::Matx23d::zeros();
    int crop_size = 0;
    int photo_scale_denom = 1;              // the crop was cut from the photo decoded this many times smaller
    std::optional<double> identity_distance;
    std::optional<double> strength;         // strength actually used for this face
    std::optional<int> strength_evaluations; // generator runs spent searching (target identity)
    std::string output_path;                // for --all-faces: this face's own file
    std::string output_sha256;              // of that file's bytes (--skip-existing checks it)
    bool target_reached = true;             // --target-identity landed within tolerance
};

struct Timings {
    // Insertion-ordered list of (stage, milliseconds); a stage run several times accumulates.
    std::vector<std::pair<std::string, double>> stages_ms;
    void add(const std::string& stage, double ms);
    double total() const;
};

}  // namespace aiportrait

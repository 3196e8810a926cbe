// BlazeFace detector: loading and validation, agreement with YuNet on real photos, tiling
// for small faces, max_side mapping and thread safety.
#include "aiportrait/detect.hpp"
#include "aiportrait/hash.hpp"

#include "testing.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <thread>

using namespace aiportrait;
using namespace aiportrait::testing;

namespace {

// $AIPORTRAIT_BLAZEFACE_MODEL, else the models folder, else the unpacked npm package.
fs::path bf_model() {
    if (const char* env = std::getenv("AIPORTRAIT_BLAZEFACE_MODEL"); env && *env) return env;
    if (fs::exists(blazeface_model())) return blazeface_model();
    return "/tmp/npm/bf/package/ONNX" / blazeface_model().filename();
}

fs::path yunet_reference() {
    if (fs::exists(yunet_model())) return yunet_model();
    return shared_dir() / "models" / yunet_model().filename();
}

#define REQUIRE_BLAZEFACE()                                                                    \
    do {                                                                                       \
        if (!fs::exists(bf_model()))                                                           \
            GTEST_SKIP() << "BlazeFace model not found at " << bf_model()                      \
                         << " (set AIPORTRAIT_BLAZEFACE_MODEL or run scripts/fetch_models.sh)"; \
    } while (0)

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "(no exception)";
}

// Index of the face best overlapping `box` at IoU >= 0.3, or -1.
int match(const std::vector<Face>& faces, const cv::Rect2f& box) {
    int best = -1;
    float best_iou = 0.3f;
    for (std::size_t i = 0; i < faces.size(); ++i) {
        const float v = iou(faces[i].box, box);
        if (v >= best_iou) {
            best_iou = v;
            best = static_cast<int>(i);
        }
    }
    return best;
}

// A square crop with the face centred, and the face's share of the crop's side.
struct FaceCrop {
    cv::Mat image;
    float face_fraction = 0.f;
};

// Pastes a face crop into `canvas` so that the face is `side` px; returns the face's box.
cv::Rect2f paste_face(cv::Mat& canvas, const FaceCrop& crop, int side, cv::Point at) {
    const int crop_side = static_cast<int>(std::lround(side / crop.face_fraction));
    cv::Mat small;
    cv::resize(crop.image, small, cv::Size(crop_side, crop_side), 0, 0, cv::INTER_AREA);
    small.copyTo(canvas(cv::Rect(at, small.size())));
    const float margin = (crop_side - side) / 2.f;
    return cv::Rect2f(at.x + margin, at.y + margin, float(side), float(side));
}

}  // namespace

TEST(BlazeFace, MissingModelNamesPath) {
    const std::string path = ("/nonexistent/dir" / blazeface_model().filename()).string();
    EXPECT_NE(message_of([&] { make_blazeface_detector(path, {}); }).find(path), std::string::npos);
}

TEST(BlazeFace, ForeignFileNamesPath) {
    TempDir dir;
    const fs::path text = dir / "not_a_model.onnx";
    write_text(text, "this is not an onnx model");
    EXPECT_NE(message_of([&] { make_blazeface_detector(text.string(), {}); }).find(text.string()),
              std::string::npos);
    const fs::path empty = dir / "empty.onnx";
    write_text(empty, "");
    EXPECT_NE(message_of([&] { make_blazeface_detector(empty.string(), {}); }).find(empty.string()),
              std::string::npos);
    // A real ONNX network that is not BlazeFace must be refused too, not fail at run time.
    const fs::path yunet = yunet_reference();
    if (fs::exists(yunet)) {
        EXPECT_NE(message_of([&] { make_blazeface_detector(yunet.string(), {}); }).find(yunet.string()),
                  std::string::npos);
    }
}

TEST(BlazeFace, Metadata) {
    REQUIRE_BLAZEFACE();
    DetectorOptions options;
    options.score_threshold = 0.6f;
    const auto detector = make_blazeface_detector(bf_model().string(), options);
    EXPECT_EQ(detector->name(), "blazeface");
    EXPECT_EQ(detector->model_path(), bf_model().string());
    EXPECT_EQ(detector->model_sha256(), sha256_file(bf_model().string()));
    EXPECT_FLOAT_EQ(detector->options().score_threshold, 0.6f);
}

TEST(BlazeFace, BlankImagesHaveNoFace) {
    REQUIRE_BLAZEFACE();
    const auto detector = make_blazeface_detector(bf_model().string(), {});
    EXPECT_TRUE(detector->run(cv::Mat(480, 640, CV_8UC3, cv::Scalar::all(0))).empty());
    // Large enough to be tiled.
    EXPECT_TRUE(detector->run(cv::Mat(1500, 2000, CV_8UC3, cv::Scalar(120, 130, 140))).empty());
    EXPECT_TRUE(detector->run(cv::Mat(3, 5, CV_8UC3, cv::Scalar::all(255))).empty());
}

// BlazeFace must find what YuNet (the project's other detector) is sure of, with landmarks
// at the same places. The photos mix portraits, couples, very large files and hard cases
// (blurred background faces, a face cut by the frame).
TEST(BlazeFace, AgreesWithYuNetOnRealPhotos) {
    REQUIRE_BLAZEFACE();
    AIPORTRAIT_REQUIRE_FILE(yunet_reference());
    AIPORTRAIT_REQUIRE_FILE(eval_faces_dir());
    std::vector<fs::path> photos;
    for (const char* name : {"couple.jpg", "img1.jpg", "img3.jpg", "img6.jpg", "img9.jpg",
                             "img13.jpg", "img19.jpg", "img30.jpg", "img40.jpg", "img49.jpg",
                             "img54.jpg", "img62.jpg"})
        photos.push_back(eval_faces_dir() / name);
    for (int n = 1; n <= 6; ++n)
        if (fs::exists(sample_photo(n))) photos.push_back(sample_photo(n));

    const auto bf = make_blazeface_detector(bf_model().string(), {});
    DetectorOptions loose;
    loose.score_threshold = 0.5f;
    const auto yunet = make_yunet_detector(yunet_reference().string(), loose);

    int reference = 0, found = 0, landmark_checks = 0, landmark_misses = 0;
    for (const fs::path& path : photos) {
        const cv::Mat photo = cv::imread(path.string());
        ASSERT_FALSE(photo.empty()) << path;
        const std::vector<Face> faces = bf->run(photo);
        for (std::size_t i = 1; i < faces.size(); ++i)
            EXPECT_GE(prominence(faces[i - 1]), prominence(faces[i])) << path;
        for (const Face& f : faces) {
            EXPECT_GE(f.score, bf->options().score_threshold);
            EXPECT_TRUE(f.mouth_corners_estimated);
            EXPECT_GE(f.box.x, 0.f);
            EXPECT_LE(f.box.br().x, float(photo.cols) + 0.01f);
        }
        for (const Face& y : yunet->run(photo)) {
            if (y.score < 0.8f || std::max(y.box.width, y.box.height) < 80.f) continue;
            ++reference;
            const int m = match(faces, y.box);
            if (m < 0) {
                std::cout << "  missed " << path.filename() << " YuNet face " << y.box << "\n";
                continue;
            }
            ++found;
            const Face& f = faces[m];
            // Landmarks are compared only where both detectors can be right: near-frontal,
            // upright faces (on profiles and strongly tilted faces they guess differently).
            const cv::Point2f eyes = y.landmarks[kEyeR] - y.landmarks[kEyeL];
            const bool frontal = cv::norm(eyes) >= 0.35 * y.box.width && std::abs(eyes.y) < 0.36 * eyes.x;
            if (!frontal) continue;
            // Landmarks by picture position, as YuNet reports them.
            EXPECT_LT(f.landmarks[kEyeL].x, f.landmarks[kEyeR].x) << path;
            EXPECT_LT(f.landmarks[kMouthL].x, f.landmarks[kMouthR].x) << path;
            for (Landmark k : {kEyeL, kEyeR, kNose}) {
                ++landmark_checks;
                const double err = cv::norm(f.landmarks[k] - y.landmarks[k]) / y.box.width;
                if (err > 0.10) {
                    ++landmark_misses;
                    std::cout << "  " << path.filename() << " " << kLandmarkNames[k] << " off by "
                              << err << " of the box\n";
                }
            }
            // The estimated mouth corners are rougher but must land near YuNet's.
            for (Landmark k : {kMouthL, kMouthR})
                EXPECT_LT(cv::norm(f.landmarks[k] - y.landmarks[k]) / y.box.width, 0.25) << path;
        }
    }
    const double recall = reference ? double(found) / reference : 0.0;
    std::cout << "BlazeFace recall of YuNet faces (score >= 0.8, >= 80 px): " << found << "/"
              << reference << " = " << recall << "; eye/nose points over 10% of the box: "
              << landmark_misses << "/" << landmark_checks << "\n";
    ASSERT_GE(reference, 20);
    EXPECT_GE(recall, 0.75);  // 0.83 when written: the misses are blurred or cut-off faces
    EXPECT_LE(landmark_misses, landmark_checks / 10);
}

// Faces of 40-64 px in a 2400x1600 photo are 4-7 px of the whole view: only tiling finds them.
TEST(BlazeFace, TilingFindsSmallFacesInLargePhotos) {
    REQUIRE_BLAZEFACE();
    const fs::path source = eval_faces_dir() / "couple.jpg";
    AIPORTRAIT_REQUIRE_FILE(source);
    // No --min-face here: the pasted faces are 40 px and up by the box width BlazeFace gave at
    // full size, and the box it gives on the canvas may be a pixel or two smaller.
    DetectorOptions options;
    options.min_face = 0;
    const auto detector = make_blazeface_detector(bf_model().string(), options);
    const cv::Mat photo = cv::imread(source.string());
    ASSERT_FALSE(photo.empty());

    // Square crops around the faces BlazeFace finds at full size, with what context fits.
    std::vector<FaceCrop> crops;
    for (const Face& f : detector->run(photo)) {
        const cv::Point2f c = (f.box.tl() + f.box.br()) * 0.5f;
        const float half = std::min({f.box.width * 1.25f, c.x, c.y, photo.cols - c.x, photo.rows - c.y});
        if (half < f.box.width * 0.6f) continue;
        const cv::Rect r(cv::Point(int(c.x - half), int(c.y - half)), cv::Size(int(2 * half), int(2 * half)));
        crops.push_back({photo(r & cv::Rect(0, 0, photo.cols, photo.rows)).clone(), f.box.width / (2 * half)});
    }
    ASSERT_FALSE(crops.empty());

    cv::Mat canvas(1600, 2400, CV_8UC3, cv::Scalar(110, 120, 130));
    std::vector<cv::Rect2f> truth;
    const int sides[] = {40, 48, 56, 64};
    for (int row = 0; row < 4; ++row)
        for (int col = 0; col < 6; ++col) {
            // Spread over the canvas, including positions straddling tile boundaries.
            const cv::Point at(150 + col * 370 + row * 37, 120 + row * 370 + col * 23);
            const FaceCrop& crop = crops[(row + col) % crops.size()];
            truth.push_back(paste_face(canvas, crop, sides[(row + col) % 4], at));
        }
    const std::vector<Face> faces = detector->run(canvas);
    int found = 0;
    for (const cv::Rect2f& t : truth) found += match(faces, t) >= 0;
    std::cout << "small faces found: " << found << "/" << truth.size() << ", detections "
              << faces.size() << "\n";
    EXPECT_GE(found, static_cast<int>(truth.size() * 0.9));
    EXPECT_LE(faces.size(), truth.size());  // no duplicates from overlapping tiles
}

// With max_side the photo is detected on a downscaled copy; results are in full resolution.
TEST(BlazeFace, MaxSideMapsBackToFullResolution) {
    REQUIRE_BLAZEFACE();
    const fs::path source = eval_faces_dir() / "couple.jpg";
    AIPORTRAIT_REQUIRE_FILE(source);
    const cv::Mat photo = cv::imread(source.string());
    DetectorOptions full, small;
    full.max_side = 0;
    small.max_side = 800;
    const auto a = make_blazeface_detector(bf_model().string(), full)->run(photo);
    const auto b = make_blazeface_detector(bf_model().string(), small)->run(photo);
    ASSERT_EQ(a.size(), 2u);
    ASSERT_EQ(b.size(), 2u);
    for (const Face& f : a) {
        const int m = match(b, f.box);
        ASSERT_GE(m, 0);
        EXPECT_GT(iou(f.box, b[m].box), 0.7f);
        EXPECT_LT(cv::norm(f.landmarks[kNose] - b[m].landmarks[kNose]), 0.05 * f.box.width);
    }
}

TEST(BlazeFace, ConcurrentRunsMatchSequentialOnes) {
    REQUIRE_BLAZEFACE();
    const fs::path source = eval_faces_dir() / "img6.jpg";
    AIPORTRAIT_REQUIRE_FILE(source);
    const cv::Mat photo = cv::imread(source.string());
    const auto detector = make_blazeface_detector(bf_model().string(), {});
    const std::vector<Face> expected = detector->run(photo);
    ASSERT_FALSE(expected.empty());
    std::vector<std::vector<Face>> results(4);
    std::vector<std::thread> threads;
    for (auto& r : results) threads.emplace_back([&] { r = detector->run(photo); });
    for (auto& t : threads) t.join();
    for (const auto& r : results) {
        ASSERT_EQ(r.size(), expected.size());
        for (std::size_t i = 0; i < r.size(); ++i) {
            EXPECT_FLOAT_EQ(r[i].score, expected[i].score);
            EXPECT_FLOAT_EQ(r[i].box.x, expected[i].box.x);
        }
    }
}

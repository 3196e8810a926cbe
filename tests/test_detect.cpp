// YuNet detector and the shared detector helpers (BlazeFace: test_detect_blazeface.cpp).
#include "aiportrait/detect.hpp"

#include "testing.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

using namespace aiportrait;
using namespace aiportrait::testing;

TEST(DetectHelpers, IouAndSort) {
    EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {0, 0, 10, 10}), 1.f);
    EXPECT_FLOAT_EQ(iou({0, 0, 10, 10}, {20, 20, 5, 5}), 0.f);
    EXPECT_NEAR(iou({0, 0, 10, 10}, {5, 0, 10, 10}), 50.f / 150.f, 1e-6);
    std::vector<Face> faces(3);
    faces[0].box = {0, 0, 5, 5};
    faces[1].box = {0, 0, 50, 50};
    faces[2].box = {0, 0, 20, 20};
    sort_by_area(faces);
    EXPECT_EQ(faces[0].box.width, 50);
    EXPECT_EQ(faces[2].box.width, 5);
}

TEST(YuNet, MissingModelNamesPath) {
    try {
        make_yunet_detector("/nonexistent/yunet.onnx", {});
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/yunet.onnx"), std::string::npos);
    }
    TempDir dir;
    write_text(dir / "fake.onnx", "this is not an onnx model");
    EXPECT_THROW(make_yunet_detector((dir / "fake.onnx").string(), {}), std::runtime_error);
}

TEST(YuNet, FindsTheFaceWithPlausibleLandmarks) {
    AIPORTRAIT_REQUIRE_FILE(yunet_model());
    AIPORTRAIT_REQUIRE_FILE(sample_photo(1));
    const auto detector = make_yunet_detector(yunet_model().string(), {});
    EXPECT_EQ(detector->name(), "yunet");
    EXPECT_EQ(detector->model_sha256().size(), 64u);
    int photos_with_faces = 0;
    for (int n = 1; n <= 6; ++n) {
        const cv::Mat photo = cv::imread(sample_photo(n).string());
        ASSERT_FALSE(photo.empty());
        const std::vector<Face> faces = detector->run(photo);
        photos_with_faces += !faces.empty();
        for (std::size_t i = 1; i < faces.size(); ++i) EXPECT_GE(faces[i - 1].box.area(), faces[i].box.area());
        for (const Face& f : faces) {
            EXPECT_GE(f.score, 0.7f);
            EXPECT_TRUE(f.box.contains(f.landmarks[kNose]));
        }
        if (faces.empty()) continue;
        // The main face of these upright photos: eyes above mouth, image-left eye on the left.
        const Landmarks& l = faces[0].landmarks;
        EXPECT_LT(l[kEyeL].x, l[kEyeR].x);
        EXPECT_LT(l[kMouthL].x, l[kMouthR].x);
        EXPECT_LT((l[kEyeL].y + l[kEyeR].y) / 2, (l[kMouthL].y + l[kMouthR].y) / 2);
    }
    EXPECT_EQ(photos_with_faces, 6);
}

TEST(YuNet, DownscaledDetectionMapsBackToFullResolution) {
    AIPORTRAIT_REQUIRE_FILE(yunet_model());
    AIPORTRAIT_REQUIRE_FILE(sample_photo(1));
    const cv::Mat photo = cv::imread(sample_photo(1).string());
    DetectorOptions full, small;
    full.max_side = 0;
    small.max_side = std::max(photo.cols, photo.rows) / 2;
    const auto a = make_yunet_detector(yunet_model().string(), full)->run(photo);
    const auto b = make_yunet_detector(yunet_model().string(), small)->run(photo);
    ASSERT_FALSE(a.empty());
    ASSERT_FALSE(b.empty());
    // Every confident face found at full size is found at the same place downscaled.
    for (const Face& fa : a) {
        if (fa.score < 0.85f || fa.box.width < 60) continue;
        const Face* match = nullptr;
        for (const Face& fb : b)
            if (iou(fa.box, fb.box) > 0.7f) match = &fb;
        ASSERT_NE(match, nullptr) << "face at " << fa.box << " lost when downscaled";
        EXPECT_LT(cv::norm(fa.landmarks[kNose] - match->landmarks[kNose]), 0.08 * fa.box.width);
    }
}

TEST(YuNet, TinyAndBlankImagesYieldNoFaceWithoutThrowing) {
    AIPORTRAIT_REQUIRE_FILE(yunet_model());
    const auto detector = make_yunet_detector(yunet_model().string(), {});
    EXPECT_TRUE(detector->run(cv::Mat(20, 30, CV_8UC3, cv::Scalar::all(128))).empty());
    EXPECT_TRUE(detector->run(cv::Mat(480, 640, CV_8UC3, cv::Scalar::all(200))).empty());
}

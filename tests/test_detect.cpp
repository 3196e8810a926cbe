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
    std::vector<Face> faces(4);
    faces[0].box = {0, 0, 5, 5};
    faces[1].box = {0, 0, 50, 50};
    faces[2].box = {0, 0, 20, 20};
    faces[3].box = {0, 0, 55, 55};  // a bit bigger, but the detector is much less sure of it
    for (Face& f : faces) f.score = 1.f;
    faces[3].score = 0.8f;
    sort_by_prominence(faces);
    EXPECT_EQ(faces[0].box.width, 50);
    EXPECT_EQ(faces[1].box.width, 55);
    EXPECT_EQ(faces[3].box.width, 5);
    // Overlapping boxes: the higher score stays.
    faces[2].box = {1, 1, 50, 50};
    faces[2].score = 0.9f;
    const auto kept = suppress_overlaps(faces, 0.3f);
    ASSERT_EQ(kept.size(), 2u);  // the 50, 55 and shifted-50 boxes overlap: one survives
    EXPECT_EQ(kept[0].score, 1.f);
    EXPECT_EQ(kept[1].score, 1.f);
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
        for (std::size_t i = 1; i < faces.size(); ++i) EXPECT_GE(prominence(faces[i - 1]), prominence(faces[i]));
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
    // The same photo at twice the size, detected with max_side = the original's longer side,
    // is seen (almost) pixel for pixel like the original: results must be 2x the original's.
    const cv::Mat photo = cv::imread(sample_photo(1).string());
    cv::Mat twice;
    cv::resize(photo, twice, cv::Size(), 2.0, 2.0, cv::INTER_CUBIC);
    DetectorOptions options;
    options.max_side = std::max(photo.cols, photo.rows);
    const auto detector = make_yunet_detector(yunet_model().string(), options);
    const auto a = detector->run(photo);
    const auto b = detector->run(twice);
    ASSERT_FALSE(a.empty());
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        const cv::Rect2f scaled(a[i].box.x * 2, a[i].box.y * 2, a[i].box.width * 2, a[i].box.height * 2);
        EXPECT_GT(iou(scaled, b[i].box), 0.9f);
        for (std::size_t k = 0; k < kNumLandmarks; ++k)
            EXPECT_LT(cv::norm(a[i].landmarks[k] * 2.f - b[i].landmarks[k]), 0.03 * scaled.width) << k;
    }
}

TEST(YuNet, MainFaceOnlyFindsTheSameMainFace) {
    AIPORTRAIT_REQUIRE_FILE(yunet_model());
    AIPORTRAIT_REQUIRE_FILE(eval_faces_dir());
    // Portrait mode may stop before the finest pyramid level; the face it picks must be the one
    // the full pyramid picks, on every real photo.
    DetectorOptions all_options;
    DetectorOptions main_options;
    main_options.main_face_only = true;
    const auto all = make_yunet_detector(yunet_model().string(), all_options);
    const auto main = make_yunet_detector(yunet_model().string(), main_options);
    int photos = 0;
    int fewer = 0;
    for (const auto& entry : fs::directory_iterator(eval_faces_dir())) {
        if (entry.path().extension() != ".jpg") continue;
        const cv::Mat photo = cv::imread(entry.path().string());
        if (photo.empty()) continue;
        const auto a = all->run(photo);
        const auto m = main->run(photo);
        ++photos;
        ASSERT_EQ(a.empty(), m.empty()) << entry.path();
        if (a.empty()) continue;
        EXPECT_GT(iou(a.front().box, m.front().box), 0.999f) << entry.path();
        EXPECT_LE(m.size(), a.size()) << entry.path();
        fewer += m.size() < a.size();
    }
    ASSERT_GT(photos, 0);
    std::printf("main-face-only: %d of %d photos skipped faces only the fine levels see\n", fewer, photos);
}

TEST(YuNet, TinyAndBlankImagesYieldNoFaceWithoutThrowing) {
    AIPORTRAIT_REQUIRE_FILE(yunet_model());
    const auto detector = make_yunet_detector(yunet_model().string(), {});
    EXPECT_TRUE(detector->run(cv::Mat(20, 30, CV_8UC3, cv::Scalar::all(128))).empty());
    EXPECT_TRUE(detector->run(cv::Mat(480, 640, CV_8UC3, cv::Scalar::all(200))).empty());
}

TEST(YuNet, MinFaceDropsSmallFacesAndSaysHowBigTheLargestWas) {
    AIPORTRAIT_REQUIRE_FILE(yunet_model());
    AIPORTRAIT_REQUIRE_FILE(sample_photo(1));
    const cv::Mat photo = cv::imread(sample_photo(1).string());
    const auto detector = make_yunet_detector(yunet_model().string(), {});
    EXPECT_EQ(detector->options().min_face, 40) << "the default";
    const std::vector<Face> faces = detector->run(photo);
    ASSERT_FALSE(faces.empty());
    // The photo shrunk so that its main face is ~30 px: under the default minimum.
    const double k = 30.0 / face_size(faces.front());
    cv::Mat small;
    cv::resize(photo, small, cv::Size(), k, k, cv::INTER_AREA);
    const Detection none = detector->detect(small);
    EXPECT_TRUE(none.faces.empty());
    EXPECT_NEAR(none.largest_dropped, 30.f, 4.f);
    EXPECT_EQ(no_face_message(none, 40),
              "no face of at least 40 px (largest: " + std::to_string(int(none.largest_dropped)) + " px)");
    DetectorOptions any;
    any.min_face = 0;
    const Detection kept = make_yunet_detector(yunet_model().string(), any)->detect(small);
    ASSERT_FALSE(kept.faces.empty());
    EXPECT_EQ(kept.largest_dropped, 0.f);
    EXPECT_NEAR(face_size(kept.faces.front()), 30.f, 4.f);
    // Nothing at all: the plain message.
    EXPECT_EQ(no_face_message(detector->detect(cv::Mat(480, 640, CV_8UC3, cv::Scalar::all(200))), 40),
              "no face found");
}

TEST(YuNet, MinFaceCountsPhotoPixelsOnAReducedDecode) {
    // The 30-px face of a photo decoded at half size is a 60-px face of the photo: kept under
    // the default 40-px minimum, and what is dropped is reported in photo pixels.
    AIPORTRAIT_REQUIRE_FILE(yunet_model());
    AIPORTRAIT_REQUIRE_FILE(sample_photo(1));
    const cv::Mat photo = cv::imread(sample_photo(1).string());
    const auto detector = make_yunet_detector(yunet_model().string(), {});
    const std::vector<Face> faces = detector->run(photo);
    ASSERT_FALSE(faces.empty());
    const double k = 30.0 / face_size(faces.front());
    cv::Mat small;
    cv::resize(photo, small, cv::Size(), k, k, cv::INTER_AREA);
    const Detection as_half = detector->detect(small, 2.0);
    ASSERT_FALSE(as_half.faces.empty());
    EXPECT_NEAR(face_size(as_half.faces.front()), 30.f, 4.f) << "faces stay in the image's coordinates";
    const Detection as_photo = detector->detect(small, 1.0);
    EXPECT_TRUE(as_photo.faces.empty());
    DetectorOptions big;
    big.min_face = 100;
    const Detection dropped = make_yunet_detector(yunet_model().string(), big)->detect(small, 2.0);
    EXPECT_TRUE(dropped.faces.empty());
    EXPECT_NEAR(dropped.largest_dropped, 60.f, 8.f);
}

TEST(DetectHelpers, DropSmallFaces) {
    std::vector<Face> faces(3);
    faces[0].box = {0, 0, 50, 60};
    faces[1].box = {0, 0, 39.7f, 80};  // the shorter side counts
    faces[2].box = {0, 0, 20, 20};
    EXPECT_FLOAT_EQ(drop_small_faces(faces, 40), 39.7f);
    ASSERT_EQ(faces.size(), 1u);
    EXPECT_EQ(faces[0].box.width, 50);
    Detection d;
    d.largest_dropped = 39.7f;
    EXPECT_EQ(no_face_message(d, 40), "no face of at least 40 px (largest: 39 px)");
    EXPECT_FLOAT_EQ(drop_small_faces(faces, 0), 0.f);
    EXPECT_EQ(faces.size(), 1u);
}

TEST(YuNet, FacesAcrossTheSeamsOfATiledViewAreFoundOnceEach) {
    // A fine view larger than the detector's tile (1024 px, 320 px overlap) runs tile by tile.
    // Six copies of a real face (~110 px) on a 2000 x 1500 canvas, each centred on or near a
    // seam of the tiles (x origins 0, 488, 976; y origins 0, 476): each must come back once,
    // where the face detected alone says.
    AIPORTRAIT_REQUIRE_FILE(yunet_model());
    AIPORTRAIT_REQUIRE_FILE(sample_photo(1));
    const cv::Mat photo = cv::imread(sample_photo(1).string());
    DetectorOptions options;
    options.max_side = 2000;  // the canvas at full size: the finest view is the whole canvas
    const auto detector = make_yunet_detector(yunet_model().string(), options);
    const std::vector<Face> faces = detector->run(photo);
    ASSERT_FALSE(faces.empty());
    const double k = 110.0 / face_size(faces.front());
    cv::Mat small;
    cv::resize(photo, small, cv::Size(), k, k, cv::INTER_AREA);
    const cv::Point2f centre = (faces.front().box.tl() + faces.front().box.br()) * static_cast<float>(k / 2);
    const int half = 150;
    const cv::Rect patch_rect = cv::Rect(cvRound(centre.x) - half, cvRound(centre.y) - half, 2 * half, 2 * half) &
                                cv::Rect(0, 0, small.cols, small.rows);
    const cv::Mat patch = small(patch_rect);
    const std::vector<Face> alone = detector->run(patch);
    ASSERT_EQ(alone.size(), 1u);
    cv::Mat canvas(1500, 2000, CV_8UC3, cv::Scalar(120, 130, 140));
    std::vector<cv::Rect2f> expected;
    for (const int cy : {500, 1000})
        for (const int cx : {500, 1000, 1500}) {
            const cv::Point at(cx - patch.cols / 2, cy - patch.rows / 2);
            patch.copyTo(canvas(cv::Rect(at, patch.size())));
            expected.emplace_back(alone[0].box.x + at.x, alone[0].box.y + at.y, alone[0].box.width, alone[0].box.height);
        }
    const std::vector<Face> found = detector->run(canvas);
    EXPECT_EQ(found.size(), expected.size());
    for (const cv::Rect2f& e : expected) {
        int matches = 0;
        for (const Face& f : found) matches += iou(f.box, e) > 0.8f;
        std::string boxes;
        for (const Face& f : found) boxes += " " + std::to_string(int(f.box.x)) + "," + std::to_string(int(f.box.y)) + " " + std::to_string(int(f.box.width)) + "x" + std::to_string(int(f.box.height));
        EXPECT_EQ(matches, 1) << "face at " << e.x << "," << e.y << " " << e.width << "x" << e.height << "; found" << boxes;
    }
}

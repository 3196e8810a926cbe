// Tests for the face-api.js recognition net port (src/models/identity.cpp).
//
// Model files: weights/face-api (scripts/fetch_models.sh) or $AIPORTRAIT_MODELS_DIR/face-api; tests
// that need them skip when the manifest is not there. Real-data check: ../shared/eval/faces with
// the project's YuNet detector; skipped when absent.
#include "aiportrait/identity.hpp"

#include "aiportrait/detect.hpp"
#include "aiportrait/generator.hpp"
#include "testing.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

namespace fs = std::filesystem;
using namespace aiportrait;

#ifndef AIPORTRAIT_SOURCE_DIR
#error "AIPORTRAIT_SOURCE_DIR must be defined to the project's source dir"
#endif

namespace {

const char* kManifest = "face_recognition_model-weights_manifest.json";

using aiportrait::testing::faceapi_dir;
using aiportrait::testing::TempDir;

bool have_model() { return fs::exists(faceapi_dir() / kManifest); }

#define REQUIRE_MODEL()                                                                        \
    if (!have_model())                                                                         \
    GTEST_SKIP() << "face-api model not found in " << faceapi_dir()                            \
                 << " (run scripts/fetch_models.sh)"

// One net for the whole suite: loading takes a noticeable fraction of a second.
const IdentityNet& shared_net() {
    static IdentityNet net(faceapi_dir().string());
    return net;
}

// A gradient image with a little seeded noise, so crops differ from each other.
cv::Mat synthetic_image(int w, int h, uint64_t seed) {
    cv::Mat img(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x % 256), uchar(y % 256), uchar((x + y) / 2 % 256));
    cv::Mat noise(h, w, CV_8UC3);
    cv::RNG rng(seed);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 40);
    return img + noise;
}

// Eyes 60 px apart and mouth 60.6 px below them: the alignDlib box is exactly 150 px wide,
// its top-left at (ox + 55, oy + 55).
Landmarks landmarks_150(float ox, float oy) {
    return {cv::Point2f(ox + 100, oy + 100), cv::Point2f(ox + 160, oy + 100), cv::Point2f(ox + 130, oy + 130),
            cv::Point2f(ox + 110, oy + 160.6f), cv::Point2f(ox + 150, oy + 160.6f)};
}

double max_abs_diff(const Descriptor& a, const Descriptor& b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
    return m;
}

}  // namespace

TEST(IdentityNet, MissingDirThrowsWithPath) {
    const std::string dir = "/nonexistent/aiportrait/face-api";
    try {
        IdentityNet net(dir);
        FAIL() << "expected std::runtime_error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
    }
}

TEST(IdentityNet, TruncatedWeightsThrowWithPath) {
    REQUIRE_MODEL();
    TempDir tmp;
    fs::copy_file(faceapi_dir() / kManifest, tmp / kManifest);
    const fs::path bin = tmp / "face_recognition_model.bin";
    fs::copy_file(faceapi_dir() / "face_recognition_model.bin", bin);
    fs::resize_file(bin, fs::file_size(bin) - 1000);
    try {
        IdentityNet net(tmp.path().string());
        FAIL() << "expected std::runtime_error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(bin.string()), std::string::npos) << e.what();
    }
    // A missing weight file names itself too.
    fs::remove(bin);
    try {
        IdentityNet net(tmp.path().string());
        FAIL() << "expected std::runtime_error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(bin.string()), std::string::npos) << e.what();
    }
}

TEST(IdentityNet, PrepareCropCutsAlignDlibBox) {
    const cv::Mat img = synthetic_image(400, 300, 1);
    const cv::Mat crop = IdentityNet::prepare_crop(img, landmarks_150(0, 0));
    ASSERT_EQ(crop.type(), CV_8UC3);
    ASSERT_EQ(crop.size(), cv::Size(150, 150));
    // A 150 px box is taken as is: no resampling.
    EXPECT_EQ(cv::norm(crop, img(cv::Rect(55, 55, 150, 150)), cv::NORM_INF), 0.0);
}

TEST(IdentityNet, PrepareCropPadsClippedBoxCentred) {
    // The box would reach x = 55 + 150 = 205, the image ends at 155: 100 px survive, and
    // toBatchTensor pads the 100x150 cut with 25 black columns on each side.
    const cv::Mat img = synthetic_image(155, 300, 2) + cv::Scalar::all(1);  // no black pixels
    const cv::Mat crop = IdentityNet::prepare_crop(img, landmarks_150(0, 0));
    ASSERT_EQ(crop.size(), cv::Size(150, 150));
    EXPECT_EQ(cv::countNonZero(crop.colRange(0, 25).clone().reshape(1)), 0);
    EXPECT_EQ(cv::countNonZero(crop.colRange(125, 150).clone().reshape(1)), 0);
    EXPECT_EQ(cv::norm(crop.colRange(25, 125), img(cv::Rect(55, 55, 100, 150)), cv::NORM_INF), 0.0);
}

TEST(IdentityNet, DescriptorDeterministicAndBatchMatchesSingles) {
    REQUIRE_MODEL();
    const IdentityNet& net = shared_net();
    const cv::Mat a = IdentityNet::prepare_crop(synthetic_image(400, 300, 3), landmarks_150(10, 5));
    const cv::Mat b = IdentityNet::prepare_crop(synthetic_image(500, 500, 4), landmarks_150(40, 60));
    const auto a1 = net.run({a});
    const auto a2 = net.run({a});
    const auto b1 = net.run({b});
    const auto ab = net.run({a, b});
    ASSERT_EQ(a1.size(), 1u);
    ASSERT_EQ(ab.size(), 2u);
    EXPECT_LE(max_abs_diff(a1[0], a2[0]), 1e-6);
    EXPECT_LE(max_abs_diff(a1[0], ab[0]), 1e-4);
    EXPECT_LE(max_abs_diff(b1[0], ab[1]), 1e-4);
    EXPECT_GT(descriptor_distance(a1[0], b1[0]), 0.0);
    EXPECT_NEAR(descriptor_distance(a1[0], a1[0]), 0.0, 1e-12);
    EXPECT_TRUE(net.run({}).empty());
    EXPECT_THROW(net.run({cv::Mat(100, 100, CV_8UC3)}), std::invalid_argument);
}

namespace {

// Landmarks of the largest face, found by the project's own YuNet detector.
std::optional<Landmarks> largest_face(const FaceDetector& detector, const cv::Mat& photo) {
    const std::vector<Face> faces = detector.run(photo);
    if (faces.empty()) return std::nullopt;
    return faces.front().landmarks;
}

}  // namespace

TEST(IdentityNet, VerificationOnEvalFaces) {
    REQUIRE_MODEL();
    const fs::path faces_dir = aiportrait::testing::eval_faces_dir();
    const fs::path yunet_path = aiportrait::testing::yunet_model();
    if (!fs::exists(faces_dir / "master.csv") || !fs::exists(yunet_path))
        GTEST_SKIP() << "eval data not found: need " << faces_dir / "master.csv" << " and " << yunet_path;

    struct Pair { std::string x, y; bool same; };
    std::vector<Pair> pairs;
    size_t rows = 0, rows_missing = 0;
    {
        std::ifstream csv(faces_dir / "master.csv");
        std::string line;
        std::getline(csv, line);  // header: file_x,file_y,Decision
        while (std::getline(csv, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty()) continue;
            std::stringstream ss(line);
            Pair p;
            std::string decision;
            std::getline(ss, p.x, ',');
            std::getline(ss, p.y, ',');
            std::getline(ss, decision, ',');
            ++rows;
            if (!fs::exists(faces_dir / p.x) || !fs::exists(faces_dir / p.y)) { ++rows_missing; continue; }
            p.same = decision == "Yes";
            pairs.push_back(p);
        }
    }
    ASSERT_FALSE(pairs.empty()) << "no usable pairs in " << faces_dir / "master.csv";

    DetectorOptions options;
    options.max_side = 1600;  // as the tool's default detection does for large photos
    const auto yunet = make_yunet_detector(yunet_path.string(), options);
    const IdentityNet& net = shared_net();
    std::map<std::string, std::optional<Descriptor>> desc;
    for (const Pair& p : pairs) {
        for (const std::string& f : {p.x, p.y}) {
            if (desc.count(f)) continue;
            const cv::Mat photo = cv::imread((faces_dir / f).string(), cv::IMREAD_COLOR);
            std::optional<Landmarks> lm;
            if (!photo.empty()) lm = largest_face(*yunet, photo);
            desc[f] = lm ? std::optional<Descriptor>(net.run({IdentityNet::prepare_crop(photo, *lm)})[0]) : std::nullopt;
            if (!lm) std::cout << "  no face found in " << f << "\n";
        }
    }

    size_t evaluated = 0, correct = 0, no_face = 0, same_ok = 0, same_n = 0, diff_ok = 0, diff_n = 0;
    for (const Pair& p : pairs) {
        if (!desc[p.x] || !desc[p.y]) { ++no_face; continue; }
        const bool predicted_same = descriptor_distance(*desc[p.x], *desc[p.y]) < kSamePersonDistance;
        ++evaluated;
        (p.same ? same_n : diff_n)++;
        if (predicted_same == p.same) {
            ++correct;
            (p.same ? same_ok : diff_ok)++;
        }
    }
    const double accuracy = evaluated ? double(correct) / double(evaluated) : 0.0;
    std::cout << "face-api identity verification at distance " << kSamePersonDistance << ": " << correct << "/"
              << evaluated << " pairs correct, accuracy " << accuracy << " (same person " << same_ok << "/" << same_n
              << ", different " << diff_ok << "/" << diff_n << "); csv rows " << rows << ", skipped "
              << rows_missing << " with missing photos and " << no_face << " with no face found\n";
    // Guard against a vacuous pass: most pairs with photos present must be evaluated.
    EXPECT_GE(evaluated * 10, pairs.size() * 9);
    EXPECT_GE(accuracy, 0.90);
}

TEST(IdentityNet, CudaRunsTheSameNetOrIsAClearError) {
    REQUIRE_MODEL();
    if (!cuda_available()) {
        try {
            IdentityNet net(faceapi_dir().string(), Device::cuda);
            FAIL() << "expected an exception";
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(faceapi_dir().string()), std::string::npos) << e.what();
        }
        return;
    }
    // With CUDA: the GPU's descriptors match the CPU's (float rounding only).
    const IdentityNet gpu(faceapi_dir().string(), Device::cuda);
    const std::vector<cv::Mat> crops = {IdentityNet::prepare_crop(synthetic_image(300, 300, 1), landmarks_150(20, 20)),
                                        IdentityNet::prepare_crop(synthetic_image(300, 300, 2), landmarks_150(30, 10))};
    const auto a = shared_net().run(crops);
    const auto b = gpu.run(crops);
    for (size_t i = 0; i < crops.size(); ++i) EXPECT_LT(max_abs_diff(a[i], b[i]), 1e-3) << i;
}

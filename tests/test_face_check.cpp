// The second opinion on detected faces (face_check.hpp, issue #30 item 3): the short-range
// BlazeFace confirms real faces, turns down a phantom that YuNet keeps after its own
// re-detection, and the rule around it keeps the subject of a photo of people.
#include "aiportrait/decode.hpp"
#include "aiportrait/face_check.hpp"

#include "testing.hpp"

#include <stdexcept>

using namespace aiportrait;
using namespace aiportrait::testing;

namespace {

fs::path check_model() { return models_dir() / kFaceCheckModelFile; }
fs::path hubble() { return source_dir() / "tests" / "data" / "phantom_hubble_xdf.jpg"; }
cv::Mat load(const fs::path& path) { return decode_image(read_input_bytes(path.string()), 0).bgr; }
std::shared_ptr<const FaceCheck> check() { return std::make_shared<const FaceCheck>(check_model().string()); }

// A detector that reports given faces, to put the rule to work on chosen boxes of a real photo.
class FixedDetector final : public FaceDetector {
public:
    explicit FixedDetector(std::vector<Face> faces) : faces_(std::move(faces)) {}
    using FaceDetector::detect;
    Detection detect(const cv::Mat&, double) const override { return {faces_, 0.f}; }
    std::string name() const override { return "fixed"; }
    std::string model_path() const override { return "none"; }
    std::string model_sha256() const override { return ""; }
    const DetectorOptions& options() const override { return options_; }

private:
    std::vector<Face> faces_;
    DetectorOptions options_;
};

// The rule tests' scene: the subject of sample photo 1 and a bigger "face" in the photo's
// top-left corner, away from it (the subject's landmarks moved there): what a phantom looks like
// to the rule, and one the check does not confirm.
class SubjectAndPhantom : public ::testing::Test {
protected:
    void SetUp() override {
        AIPORTRAIT_REQUIRE_FILE(check_model());
        AIPORTRAIT_REQUIRE_FILE(yunet_model());
        AIPORTRAIT_REQUIRE_FILE(sample_photo(1));
        photo = load(sample_photo(1));
        const std::vector<Face> found = make_yunet_detector(yunet_model().string(), {})->run(photo);
        ASSERT_FALSE(found.empty()) << "no face in sample photo 1";
        subject = phantom = found.front();
        const float side = std::min(photo.cols, photo.rows) / 3.f;
        phantom.box = cv::Rect2f(0.f, 0.f, side, side);
        for (auto& p : phantom.landmarks) p = (p - subject.box.tl()) * (side / subject.box.width);
        ASSERT_LE(iou(phantom.box, subject.box), 0.01f) << "the corner overlaps the subject";
        ASSERT_LT(check()->score(photo, phantom), FaceCheck::kConfirmScore) << "the check confirms the corner";
    }
    cv::Mat photo;
    Face subject, phantom;
};

#define REQUIRE_MODELS()                     \
    AIPORTRAIT_REQUIRE_FILE(check_model()); \
    AIPORTRAIT_REQUIRE_FILE(yunet_model())

}  // namespace

TEST(FaceCheck, ErrorsNameThePath) {
    AIPORTRAIT_REQUIRE_FILE(blazeface_model());
    const std::string missing = (source_dir() / "no-such-model.onnx").string();
    try {
        FaceCheck c(missing);
        FAIL() << "loaded a missing file";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    }
    // The full-range detector is the same family but not this network (256 px input).
    try {
        FaceCheck c(blazeface_model().string());
        FAIL() << "took the full-range detector for the short-range check";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("not a BlazeFace short-range 128x128 model"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(blazeface_model().string()), std::string::npos) << e.what();
    }
}

TEST(FaceCheck, ConfirmsTheFacesOfTheSamplePhotos) {
    REQUIRE_MODELS();
    AIPORTRAIT_REQUIRE_FILE(sample_photo(1));
    const auto c = check();
    const auto yunet = make_yunet_detector(yunet_model().string(), {});
    for (int n = 1; n <= 6; ++n) {
        const cv::Mat photo = load(sample_photo(n));
        const std::vector<Face> faces = yunet->run(photo);
        ASSERT_FALSE(faces.empty()) << sample_photo(n);
        EXPECT_GE(c->score(photo, faces.front()), FaceCheck::kConfirmScore) << sample_photo(n);
    }
}

TEST(FaceCheck, TurnsDownAPhantomThatYuNetKeeps) {
    REQUIRE_MODELS();
    const cv::Mat sky = load(hubble());
    for (const bool main_face_only : {false, true}) {
        DetectorOptions options;
        options.main_face_only = main_face_only;
        const std::vector<Face> alone = make_yunet_detector(yunet_model().string(), options)->run(sky);
        ASSERT_FALSE(alone.empty()) << "YuNet no longer takes the galaxies for faces: the test checks nothing";
        for (const Face& f : alone) EXPECT_LT(check()->score(sky, f), FaceCheck::kConfirmScore) << f.box;
        EXPECT_TRUE(with_second_opinion(make_yunet_detector(yunet_model().string(), options), check())->run(sky).empty());
    }
}

TEST_F(SubjectAndPhantom, APhantomMustNotOutrankTheSubject) {
    const std::vector<Face> real = {subject};
    // Subject after the phantom: the phantom goes, the subject stays.
    const auto both = with_second_opinion(std::make_unique<FixedDetector>(std::vector<Face>{phantom, real.front()}), check());
    const std::vector<Face> kept = both->run(photo);
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_GT(iou(kept.front().box, real.front().box), 0.99f);
    // Only the phantom: no face at all.
    EXPECT_TRUE(with_second_opinion(std::make_unique<FixedDetector>(std::vector<Face>{phantom}), check())->run(photo).empty());
    // A less prominent unconfirmed face in a photo of people stays (the check misses blurred and
    // profile faces as it misses phantoms; the detector's own verification is what guards them).
    const std::vector<Face> after = with_second_opinion(std::make_unique<FixedDetector>(std::vector<Face>{real.front(), phantom}), check())->run(photo);
    EXPECT_EQ(after.size(), 2u);
}

TEST_F(SubjectAndPhantom, AMainFaceScanThatStoppedAtAPhantomLooksAgainWithEveryView) {
    const std::vector<Face> real = {subject};
    // The portrait-mode scan found only the phantom (it skipped the view with the subject); the
    // scan of every view finds both.
    auto main_scan = [&] { return std::make_unique<FixedDetector>(std::vector<Face>{phantom}); };
    const std::vector<Face> again =
        with_second_opinion(main_scan(), check(), std::make_unique<FixedDetector>(std::vector<Face>{phantom, real.front()}))
            ->run(photo);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_GT(iou(again.front().box, real.front().box), 0.99f);
    EXPECT_TRUE(with_second_opinion(main_scan(), check())->run(photo).empty());
}

#include "aiportrait/align.hpp"

#include "testing.hpp"

#include <opencv2/imgproc.hpp>

using namespace aiportrait;

namespace {

Landmarks transform(const Landmarks& in, const cv::Matx23d& m) {
    Landmarks out;
    for (std::size_t i = 0; i < kNumLandmarks; ++i) out[i] = apply_affine(m, in[i]);
    return out;
}

cv::Matx23d similarity(double scale, double angle_deg, double tx, double ty) {
    const double a = scale * std::cos(angle_deg * CV_PI / 180), b = scale * std::sin(angle_deg * CV_PI / 180);
    return cv::Matx23d(a, -b, tx, b, a, ty);
}

}  // namespace

TEST(Align, RecoversAKnownSimilarityExactly) {
    const Landmarks tmpl = CropTemplate::ffhq(256, 0.0).pixel_points();
    const cv::Matx23d truth = similarity(2.7, 17.0, 431.0, -55.0);
    const Landmarks photo = transform(tmpl, invert_affine(truth));
    const cv::Matx23d m = estimate_similarity(photo, tmpl, {1, 1, 1, 1, 1});
    // Landmarks are float: expect float precision, relative to the values involved.
    for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 3; ++c) EXPECT_NEAR(m(r, c), truth(r, c), 1e-6 * (1 + std::abs(truth(r, c)) * 100)) << r << "," << c;
}

TEST(Align, LeastSquaresIsRobustToOneNoisyPoint) {
    const Landmarks tmpl = CropTemplate::ffhq(512, 0.0).pixel_points();
    Landmarks noisy = tmpl;
    noisy[kMouthL].x += 6;  // a few pixels of landmark error
    const cv::Matx23d m = estimate_similarity(noisy, tmpl, {1, 1, 1, 1, 1});
    for (std::size_t i : {kEyeL, kEyeR, kNose}) EXPECT_LT(cv::norm(apply_affine(m, tmpl[i]) - tmpl[i]), 3.0);
}

TEST(Align, MarginShrinksTemplateAroundCentre) {
    const Landmarks plain = CropTemplate::ffhq(256, 0.0).pixel_points();
    const Landmarks wide = CropTemplate::ffhq(256, 0.25).pixel_points();
    const double eye_plain = cv::norm(plain[kEyeR] - plain[kEyeL]);
    const double eye_wide = cv::norm(wide[kEyeR] - wide[kEyeL]);
    EXPECT_NEAR(eye_wide / eye_plain, 1.0 / 1.5, 1e-5);
    EXPECT_NEAR(plain[kEyeL].x, 192.98 / 2, 1e-3);
}

TEST(Align, CropPutsLandmarksOnTheTemplate) {
    // A synthetic photo with dots at rotated, scaled landmark positions: after alignment the
    // dots must sit on the template points.
    const CropTemplate tmpl = CropTemplate::ffhq(256, 0.1);
    const cv::Matx23d to_photo = similarity(3.1, -23.0, 900.0, 500.0);
    Face face;
    face.landmarks = transform(tmpl.pixel_points(), to_photo);
    cv::Mat photo(2000, 2200, CV_8UC3, cv::Scalar(20, 20, 20));
    for (const auto& p : face.landmarks) cv::circle(photo, p, 9, cv::Scalar(255, 255, 255), cv::FILLED, cv::LINE_AA);

    for (const bool large : {false, true}) {
        cv::Mat image = photo;
        Face f = face;
        if (large) {  // a big face exercises the area-downsampling path
            cv::resize(photo, image, cv::Size(), 3.0, 3.0, cv::INTER_LINEAR);
            for (auto& p : f.landmarks) p = (p + cv::Point2f(0.5f, 0.5f)) * 3.0f - cv::Point2f(0.5f, 0.5f);
        }
        const AlignedFace aligned = align_face(image, f, tmpl);
        ASSERT_EQ(aligned.crop.size(), cv::Size(256, 256));
        cv::Mat gray;
        cv::cvtColor(aligned.crop, gray, cv::COLOR_BGR2GRAY);
        for (const auto& p : tmpl.pixel_points()) {
            const cv::Rect window(int(p.x) - 6, int(p.y) - 6, 13, 13);
            const cv::Moments mo = cv::moments(gray(window) > 128, true);
            ASSERT_GT(mo.m00, 0);
            const cv::Point2f centre(float(window.x + mo.m10 / mo.m00), float(window.y + mo.m01 / mo.m00));
            EXPECT_LT(cv::norm(centre - p), 0.8) << (large ? "large" : "plain");
        }
        const cv::Point2f back = apply_affine(aligned.inverse, apply_affine(aligned.matrix, f.landmarks[kNose]));
        EXPECT_LT(cv::norm(back - f.landmarks[kNose]), 1e-3);
    }
}

TEST(Align, BigFaceOnAThinStripDoesNotThrow) {
    // A detector can report a large face on a 1-px strip; shrinking that region must not round
    // to an empty image.
    const cv::Mat strip(1, 4000, CV_8UC3, cv::Scalar(120, 130, 140));
    const CropTemplate tmpl = CropTemplate::ffhq(256, 0.0);
    Face face;
    face.landmarks = transform(tmpl.pixel_points(), similarity(6.0, 0.0, 1000.0, -1500.0));
    AlignedFace aligned;
    ASSERT_NO_THROW(aligned = align_face(strip, face, tmpl));
    EXPECT_EQ(aligned.crop.size(), cv::Size(256, 256));
}

TEST(Align, FromAReducedDecodeMatchesTheFullPhoto) {
    // A big face in a photo, and the same photo as a 1/4 DCT decode would give it (each output
    // pixel the mean of a 4x4 block): the crop and the matrices must come out as from the full
    // photo, the matrices in the photo's coordinates.
    const CropTemplate tmpl = CropTemplate::ffhq(256, 0.1);
    const cv::Matx23d to_photo = similarity(7.0, 12.0, 1400.0, 900.0);
    Face face;
    face.landmarks = transform(tmpl.pixel_points(), to_photo);
    cv::Mat photo(3200, 4000, CV_8UC3);
    cv::randu(photo, 0, 255);
    cv::GaussianBlur(photo, photo, cv::Size(), 12.0);  // detail at the crop's scale, not finer
    for (const auto& p : face.landmarks) cv::circle(photo, p, 40, cv::Scalar(255, 255, 255), cv::FILLED, cv::LINE_AA);
    ASSERT_EQ(max_align_denom(face, tmpl), 4);  // crop scale 1/7: 1.5 / 7 <= 1/4
    cv::Mat reduced;
    cv::resize(photo, reduced, cv::Size(1000, 800), 0, 0, cv::INTER_AREA);

    const AlignedFace full = align_face(photo, face, tmpl);
    const AlignedFace small = align_face_reduced(reduced, 4, face, tmpl);
    for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 3; ++c) {
            EXPECT_NEAR(small.matrix(r, c), full.matrix(r, c), 1e-4 * (c == 2 ? 1000 : 1)) << r << c;
            EXPECT_NEAR(small.inverse(r, c), full.inverse(r, c), 1e-3 * (c == 2 ? 1000 : 1)) << r << c;
        }
    EXPECT_LT(cv::norm(small.crop, full.crop, cv::NORM_L1) / (256.0 * 256 * 3), 2.0);
    // Faces map there and back through the reduced decode's pixel grid.
    const Face there = map_face(face, invert_affine(reduced_to_photo(4)));
    const Face back = map_face(there, reduced_to_photo(4));
    EXPECT_NEAR(there.landmarks[kNose].x, (face.landmarks[kNose].x - 1.5f) / 4, 1e-3);
    EXPECT_LT(cv::norm(back.landmarks[kNose] - face.landmarks[kNose]), 1e-3);
}

TEST(Align, SmallFacesNeedTheWholePhoto) {
    const CropTemplate tmpl = CropTemplate::ffhq(256, 0.1);
    Face face;
    for (const auto& [scale, denom] : std::vector<std::pair<double, int>>{{0.5, 1}, {1.4, 1}, {2.9, 1}, {3.2, 2}, {6.5, 4}, {12.5, 8}, {40.0, 8}}) {
        face.landmarks = transform(tmpl.pixel_points(), similarity(scale, 5.0, 300.0, 200.0));
        EXPECT_EQ(max_align_denom(face, tmpl), denom) << scale;
    }
}

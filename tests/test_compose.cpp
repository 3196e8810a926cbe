#include "aiportrait/compose.hpp"

#include "testing.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>

using namespace aiportrait;

TEST(Compose, MaskIsOneInsideAndExactlyZeroAtTheBorder) {
    const CropTemplate tmpl = CropTemplate::ffhq(256, 0.0);
    const cv::Mat mask = face_mask(tmpl, 0.3);
    const Landmarks p = tmpl.pixel_points();
    EXPECT_FLOAT_EQ(mask.at<float>(cv::Point(p[kNose])), 1.f);
    for (int i = 0; i < 256; ++i) {
        EXPECT_EQ(mask.at<float>(0, i), 0.f);
        EXPECT_EQ(mask.at<float>(255, i), 0.f);
        EXPECT_EQ(mask.at<float>(i, 0), 0.f);
        EXPECT_EQ(mask.at<float>(i, 255), 0.f);
    }
    double lo, hi;
    cv::minMaxLoc(mask, &lo, &hi);
    EXPECT_GE(lo, 0.0);
    EXPECT_LE(hi, 1.0);
}

TEST(Compose, PasteLeavesEverythingOutsideTheMaskBitIdentical) {
    cv::Mat photo(600, 800, CV_8UC3);
    cv::randu(photo, 0, 255);
    const CropTemplate tmpl = CropTemplate::ffhq(256, 0.0);
    GeneratedFace face;
    face.aligned.size = 256;
    face.aligned.matrix = cv::Matx23d(0.8, -0.1, -150, 0.1, 0.8, -90);
    face.aligned.inverse = invert_affine(face.aligned.matrix);
    face.generated = cv::Mat(256, 256, CV_8UC3, cv::Scalar(0, 255, 0));

    const cv::Mat out = paste_faces(photo, {face}, tmpl, 0.3, 0.0);
    // Mask warped into the photo, as the paste sees it.
    cv::Mat warped_mask;
    cv::warpAffine(face_mask(tmpl, 0.3), warped_mask, face.aligned.inverse, photo.size(), cv::INTER_LINEAR,
                   cv::BORDER_CONSTANT, 0);
    int changed_outside = 0, changed_inside = 0;
    for (int y = 0; y < photo.rows; ++y)
        for (int x = 0; x < photo.cols; ++x) {
            const bool same = photo.at<cv::Vec3b>(y, x) == out.at<cv::Vec3b>(y, x);
            if (warped_mask.at<float>(y, x) <= 0.f) changed_outside += !same;
            else if (warped_mask.at<float>(y, x) > 0.99f) changed_inside += out.at<cv::Vec3b>(y, x) == cv::Vec3b(0, 255, 0);
        }
    EXPECT_EQ(changed_outside, 0);
    EXPECT_GT(changed_inside, 1000);
}

namespace {

// A flat grey portrait pasted at `photo_px_per_crop_px` into a grey photo with white noise of
// sigma 12 (the "texture" of a sharp photo); the face is centred on the photo.
struct GrainScene {
    CropTemplate tmpl = CropTemplate::ffhq(256, 0.0);
    cv::Mat photo;
    GeneratedFace face;
    cv::Mat inside;  // CV_8U: pixels where the warped mask is ~1

    explicit GrainScene(double photo_px_per_crop_px) {
        photo = cv::Mat(900, 900, CV_8UC3);
        cv::randn(photo, cv::Scalar::all(128), cv::Scalar::all(12));
        const double k = photo_px_per_crop_px, offset = 450 - 128 * k;
        face.aligned.size = 256;
        face.aligned.inverse = cv::Matx23d(k, 0, offset, 0, k, offset);
        face.aligned.matrix = invert_affine(face.aligned.inverse);
        face.generated = cv::Mat(256, 256, CV_8UC3, cv::Scalar::all(128));
        cv::Mat warped;
        cv::warpAffine(face_mask(tmpl, 0.3), warped, face.aligned.inverse, photo.size(), cv::INTER_LINEAR,
                       cv::BORDER_CONSTANT, 0);
        inside = warped > 0.99f;
    }

    // Standard deviation of the pasted photo's luma over the inside of the face.
    double inside_sigma(double grain) const {
        cv::Mat gray;
        cv::cvtColor(paste_faces(photo, {face}, tmpl, 0.3, grain), gray, cv::COLOR_BGR2GRAY);
        cv::Scalar mean, sd;
        cv::meanStdDev(gray, mean, sd, inside);
        return sd[0];
    }
};

}  // namespace

TEST(Compose, GrainGivesAnUpscaledFaceThePhotosTexture) {
    // Without grain the upscaled flat portrait is flat: the soft oval. With it, the face gets
    // about the photo's own fine texture (its luma's: ~8 for sigma-12 noise per channel; the
    // grain is measured in the band finer than one crop pixel, so it comes out a little lower).
    const GrainScene scene(2.5);
    cv::Mat gray;
    cv::cvtColor(scene.photo, gray, cv::COLOR_BGR2GRAY);
    cv::Scalar mean, photo_sd;
    cv::meanStdDev(gray, mean, photo_sd, scene.inside);
    EXPECT_LT(scene.inside_sigma(0.0), 0.5);
    const double matched = scene.inside_sigma(1.0);
    EXPECT_GT(matched, 0.8 * photo_sd[0]);
    EXPECT_LT(matched, 1.1 * photo_sd[0]);
    EXPECT_NEAR(scene.inside_sigma(0.5), matched / 2, 0.5);
}

TEST(Compose, NoGrainWhereTheFaceIsNotUpscaled) {
    // At or below crop resolution the portrait has the photo's detail already.
    const GrainScene scene(0.8);
    EXPECT_EQ(cv::norm(paste_faces(scene.photo, {scene.face}, scene.tmpl, 0.3, 1.0),
                       paste_faces(scene.photo, {scene.face}, scene.tmpl, 0.3, 0.0), cv::NORM_INF),
              0.0);
}

TEST(Compose, GrainIsDeterministicAndStaysInsideTheMask) {
    const GrainScene scene(3.0);
    const cv::Mat a = paste_faces(scene.photo, {scene.face}, scene.tmpl, 0.3, 1.0);
    const cv::Mat b = paste_faces(scene.photo, {scene.face}, scene.tmpl, 0.3, 1.0);
    EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0.0);
    cv::Mat warped;
    cv::warpAffine(face_mask(scene.tmpl, 0.3), warped, scene.face.aligned.inverse, scene.photo.size(),
                   cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
    cv::Mat diff;
    cv::absdiff(a, scene.photo, diff);
    cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
    EXPECT_EQ(cv::countNonZero((diff > 0) & (warped <= 0.f)), 0);
}

TEST(Compose, CropToPhotoScaleIsTheLinearPartsScale) {
    EXPECT_DOUBLE_EQ(crop_to_photo_scale(cv::Matx23d(2, 0, 5, 0, 2, 7)), 2.0);
    const double c = std::cos(0.3) * 1.5, s = std::sin(0.3) * 1.5;
    EXPECT_NEAR(crop_to_photo_scale(cv::Matx23d(c, -s, 0, s, c, 0)), 1.5, 1e-12);
}

TEST(Compose, BlendWithInputInterpolates) {
    const cv::Mat a(4, 4, CV_8UC3, cv::Scalar(0, 100, 200)), b(4, 4, CV_8UC3, cv::Scalar(200, 100, 0));
    EXPECT_EQ(blend_with_input(a, b, 0.0).at<cv::Vec3b>(0, 0), cv::Vec3b(0, 100, 200));
    EXPECT_EQ(blend_with_input(a, b, 1.0).at<cv::Vec3b>(0, 0), cv::Vec3b(200, 100, 0));
    EXPECT_EQ(blend_with_input(a, b, 0.5).at<cv::Vec3b>(0, 0), cv::Vec3b(100, 100, 100));
}

TEST(Compose, AGreyCropKeepsItsPortraitGrey) {
    cv::Mat grey(64, 64, CV_8UC1), colour(64, 64, CV_8UC3);
    cv::randu(grey, 0, 255);
    cv::randu(colour, 0, 255);
    cv::Mat grey_bgr;
    cv::cvtColor(grey, grey_bgr, cv::COLOR_GRAY2BGR);
    EXPECT_TRUE(is_grey(grey_bgr));
    EXPECT_FALSE(is_grey(colour));
    // A grey photo that went through a colour pipeline keeps a little chroma noise: still grey.
    cv::Mat noise(64, 64, CV_8UC3);
    cv::randu(noise, 0, 3);
    EXPECT_TRUE(is_grey(grey_bgr + noise));
    // The generator's tint is removed from a grey crop's portrait, and left alone otherwise.
    cv::Mat tinted = grey_bgr + cv::Scalar(0, 6, 12);
    const cv::Mat kept = keep_grey(grey_bgr, tinted);
    std::vector<cv::Mat> ch;
    cv::split(kept, ch);
    EXPECT_EQ(cv::norm(ch[0], ch[1], cv::NORM_INF), 0);
    EXPECT_EQ(cv::norm(ch[1], ch[2], cv::NORM_INF), 0);
    EXPECT_EQ(cv::norm(keep_grey(colour, tinted), tinted, cv::NORM_INF), 0);
}

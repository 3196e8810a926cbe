#include "aiportrait/compose.hpp"

#include "testing.hpp"

#include <opencv2/imgproc.hpp>

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

    const cv::Mat out = paste_faces(photo, {face}, tmpl, 0.3);
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

TEST(Compose, BlendWithInputInterpolates) {
    const cv::Mat a(4, 4, CV_8UC3, cv::Scalar(0, 100, 200)), b(4, 4, CV_8UC3, cv::Scalar(200, 100, 0));
    EXPECT_EQ(blend_with_input(a, b, 0.0).at<cv::Vec3b>(0, 0), cv::Vec3b(0, 100, 200));
    EXPECT_EQ(blend_with_input(a, b, 1.0).at<cv::Vec3b>(0, 0), cv::Vec3b(200, 100, 0));
    EXPECT_EQ(blend_with_input(a, b, 0.5).at<cv::Vec3b>(0, 0), cv::Vec3b(100, 100, 100));
}

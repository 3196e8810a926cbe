#include "aiportrait/decode.hpp"

#include "testing.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

using namespace aiportrait;

namespace {

std::vector<std::uint8_t> encode(const cv::Mat& image, const std::string& ext) {
    std::vector<std::uint8_t> bytes;
    EXPECT_TRUE(cv::imencode(ext, image, bytes));
    return bytes;
}

// A JPEG with an EXIF APP1 segment carrying `orientation`, spliced in after SOI.
std::vector<std::uint8_t> jpeg_with_orientation(const cv::Mat& image, int orientation) {
    std::vector<std::uint8_t> jpeg = encode(image, ".jpg");
    const std::vector<std::uint8_t> tiff = {'M', 'M', 0, 42, 0, 0, 0, 8,  // big-endian, IFD at 8
                                            0, 1,                         // one entry
                                            0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, static_cast<std::uint8_t>(orientation), 0, 0,
                                            0, 0, 0, 0};                  // no next IFD
    std::vector<std::uint8_t> app1 = {'E', 'x', 'i', 'f', 0, 0};
    app1.insert(app1.end(), tiff.begin(), tiff.end());
    const std::size_t length = app1.size() + 2;
    std::vector<std::uint8_t> segment = {0xFF, 0xE1, static_cast<std::uint8_t>(length >> 8),
                                         static_cast<std::uint8_t>(length & 0xFF)};
    segment.insert(segment.end(), app1.begin(), app1.end());
    jpeg.insert(jpeg.begin() + 2, segment.begin(), segment.end());
    return jpeg;
}

}  // namespace

TEST(Decode, HeaderGivesFormatAndSizeBeforeDecoding) {
    const cv::Mat image(123, 77, CV_8UC3, cv::Scalar(1, 2, 3));
    for (const std::string ext : {".png", ".jpg", ".bmp", ".webp"}) {
        const ImageHeader h = peek_header(encode(image, ext));
        EXPECT_EQ(h.width, 77) << ext;
        EXPECT_EQ(h.height, 123) << ext;
    }
    EXPECT_EQ(peek_header({'h', 'e', 'l', 'l', 'o'}).format, "unknown");
}

TEST(Decode, SixteenBitGrayAndAlphaBecomeEightBitBgrPlusAlpha) {
    cv::Mat gray16(20, 30, CV_16UC1, cv::Scalar(65535));
    DecodedImage d = decode_image(encode(gray16, ".png"), 0);
    EXPECT_EQ(d.bgr.type(), CV_8UC3);
    EXPECT_EQ(d.bgr.at<cv::Vec3b>(5, 5), cv::Vec3b(255, 255, 255));
    EXPECT_NE(d.source_format.find("16-bit gray"), std::string::npos) << d.source_format;

    cv::Mat bgra(20, 30, CV_8UC4, cv::Scalar(10, 20, 30, 128));
    d = decode_image(encode(bgra, ".png"), 0);
    EXPECT_EQ(d.bgr.at<cv::Vec3b>(3, 3), cv::Vec3b(10, 20, 30));
    ASSERT_FALSE(d.alpha.empty());
    EXPECT_EQ(d.alpha.at<uchar>(3, 3), 128);
}

TEST(Decode, ExifOrientationIsAppliedAndRecorded) {
    // A tall image with a red top-left corner: orientation 6 (rotate 90 clockwise) makes it wide
    // with the red corner at the top right.
    cv::Mat image(80, 40, CV_8UC3, cv::Scalar(0, 0, 0));
    image(cv::Rect(0, 0, 16, 16)).setTo(cv::Scalar(0, 0, 255));
    const auto bytes = jpeg_with_orientation(image, 6);
    EXPECT_EQ(exif_orientation(bytes), 6);
    const DecodedImage d = decode_image(bytes, 0);
    EXPECT_EQ(d.exif_orientation, 6);
    ASSERT_EQ(d.bgr.size(), cv::Size(80, 40));
    EXPECT_GT(d.bgr.at<cv::Vec3b>(4, 75)[2], 200);
    EXPECT_LT(d.bgr.at<cv::Vec3b>(4, 4)[2], 50);
    EXPECT_EQ(exif_orientation(encode(image, ".jpg")), 1);
}

TEST(Decode, BadInputsThrowOneLineReasons) {
    EXPECT_THROW(decode_image({}, 0), std::runtime_error);
    EXPECT_THROW(decode_image({'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'}, 0), std::runtime_error);
    cv::Mat image(200, 200, CV_8UC3);
    cv::randu(image, 0, 255);
    auto png = encode(image, ".png");
    png.resize(png.size() / 2);  // cut in half
    EXPECT_THROW(decode_image(png, 0), std::runtime_error);
    try {
        decode_image(encode(image, ".png"), 100 * 100);
        FAIL() << "expected --max-pixels refusal";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("--max-pixels"), std::string::npos) << e.what();
    }
}

TEST(Decode, ReadInputBytesNamesMissingPath) {
    try {
        read_input_bytes("/nonexistent/photo.jpg");
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/photo.jpg"), std::string::npos);
    }
}

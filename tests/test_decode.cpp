#include "aiportrait/decode.hpp"

#include "awkward.hpp"
#include "testing.hpp"

#include <climits>
#include <csignal>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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
    EXPECT_EQ(peek_header({'h', 'e', 'l', 'l', 'o'}).format, SourceFormat::unknown);
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

TEST(Decode, ReadInputBytesGivesTheSystemsReason) {
    try {
        read_input_bytes("/nonexistent/photo.jpg");
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
    }
    EXPECT_THROW(read_input_bytes("/"), std::runtime_error);
    // An endless special file that is no image is refused from its first bytes.
    try {
        read_input_bytes("/dev/zero", 1ull << 40);
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("not an image"), std::string::npos) << e.what();
    }
    // One that starts like a JPEG and never ends stops at the limit instead of filling memory.
    aiportrait::testing::TempDir dir;
    const std::string fifo = (dir / "endless.jpg").string();
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    std::signal(SIGPIPE, SIG_IGN);  // the writer learns of the reader's end by EPIPE
    std::thread writer([&] {
        const int fd = ::open(fifo.c_str(), O_WRONLY);
        const unsigned char head[] = {0xFF, 0xD8, 0xFF, 0xE0};
        std::vector<unsigned char> zeros(1 << 16, 0);
        bool ok = ::write(fd, head, sizeof head) == ssize_t(sizeof head);
        while (ok) ok = ::write(fd, zeros.data(), zeros.size()) > 0;
        ::close(fd);
    });
    try {
        read_input_bytes(fifo, 1 << 20);
        ADD_FAILURE() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("--max-pixels"), std::string::npos) << e.what();
    }
    writer.join();
    EXPECT_EQ(max_file_bytes(0), 0u);
    EXPECT_GT(max_file_bytes(150'000'000), 150'000'000u * 8);
}

TEST(Decode, CmykJpegBecomesTheRightColours) {
    cv::Mat bgr(64, 96, CV_8UC3);
    for (int y = 0; y < bgr.rows; ++y)
        for (int x = 0; x < bgr.cols; ++x) bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 2), uchar(y * 3), uchar(200 - x));
    const DecodedImage d = decode_image(awkward::cmyk_jpeg(bgr, 95), 0);
    EXPECT_EQ(d.source_format, "jpeg 8-bit cmyk");
    cv::Mat diff;
    cv::absdiff(d.bgr, bgr, diff);
    EXPECT_LT(cv::mean(diff)[0] + cv::mean(diff)[1] + cv::mean(diff)[2], 3 * 4.0) << "colours inverted or swapped";
}

TEST(Decode, PalettePngWithTransparencyKeepsColoursAndAlpha) {
    cv::Mat bgr(40, 50, CV_8UC3, cv::Scalar(0, 0, 255)), alpha(40, 50, CV_8UC1, cv::Scalar(255));
    alpha.colRange(0, 10).setTo(0);
    const DecodedImage d = decode_image(awkward::palette_png(bgr, alpha), 0);
    EXPECT_EQ(d.source_format, "png 8-bit palette+alpha");
    EXPECT_EQ(d.bgr.at<cv::Vec3b>(20, 30), cv::Vec3b(0, 0, 255));
    ASSERT_FALSE(d.alpha.empty());
    EXPECT_EQ(d.alpha.at<uchar>(20, 5), 0);
    EXPECT_EQ(d.alpha.at<uchar>(20, 30), 255);
    EXPECT_EQ(decode_image(awkward::palette_png(bgr), 0).source_format, "png 8-bit palette");
    // Seen on white, a transparent pixel is white whatever colour it hides.
    const cv::Mat seen = composite_on_white(d.bgr, d.alpha);
    EXPECT_EQ(seen.at<cv::Vec3b>(20, 5), cv::Vec3b(255, 255, 255));
    EXPECT_EQ(seen.at<cv::Vec3b>(20, 30), cv::Vec3b(0, 0, 255));
}

TEST(Decode, RecoveredDamageIsAWarningAndNothingReachesStderr) {
    cv::Mat image(240, 320, CV_8UC3);
    cv::randu(image, 0, 255);
    const auto jpeg = encode(image, ".jpg");
    ::testing::internal::CaptureStderr();
    const DecodedImage cut = decode_image(std::vector<std::uint8_t>(jpeg.begin(), jpeg.begin() + jpeg.size() / 2), 0);
    awkward::PngOptions bad_text;
    bad_text.extra.push_back({"tEXt", {'a', 0, 'b'}, true});
    const DecodedImage text = decode_image(awkward::png(image, bad_text), 0);
    awkward::PngOptions bad_idat;
    bad_idat.bad_idat_crc = true;
    EXPECT_THROW(decode_image(awkward::png(image, bad_idat), 0), std::runtime_error);
    const auto png = awkward::png(image);
    EXPECT_THROW(decode_image(std::vector<std::uint8_t>(png.begin(), png.begin() + png.size() / 2), 0), std::runtime_error);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << "a decoder wrote to stderr";
    ASSERT_FALSE(cut.warnings.empty());
    EXPECT_TRUE(std::any_of(cut.warnings.begin(), cut.warnings.end(), [](const std::string& w) {
        return w.find("Premature end of JPEG file") != std::string::npos;
    })) << ::testing::PrintToString(cut.warnings);
    EXPECT_EQ(cut.bgr.size(), image.size());
    ASSERT_EQ(text.warnings.size(), 1u) << ::testing::PrintToString(text.warnings);
    EXPECT_NE(text.warnings[0].find("CRC error"), std::string::npos) << text.warnings[0];
    EXPECT_EQ(cv::norm(text.bgr, image, cv::NORM_INF), 0.0);
    EXPECT_TRUE(decode_image(awkward::png(image), 0).warnings.empty());
}

TEST(Decode, DamagedFilesOfOtherFormatsFailQuietlyWithTheirReason) {
    // OpenCV decodes these; its imdecode prints codec errors to std::cerr itself, which must not
    // reach the terminal: the one error line (the exception) says what was wrong.
    cv::Mat image(240, 320, CV_8UC3);
    cv::randu(image, 0, 255);
    for (const char* ext : {".bmp", ".ppm", ".tif", ".webp"}) {
        const auto whole = encode(image, ext);
        const std::vector<std::uint8_t> cut(whole.begin(), whole.begin() + whole.size() / 3);
        ::testing::internal::CaptureStderr();
        std::string reason;
        try {
            decode_image(cut, 0);
        } catch (const std::runtime_error& e) {
            reason = e.what();
        }
        EXPECT_EQ(::testing::internal::GetCapturedStderr(), "") << ext << ": a decoder wrote to stderr";
        EXPECT_FALSE(reason.empty()) << ext << ": a third of the file decoded";
        EXPECT_EQ(reason.find('\n'), std::string::npos) << reason;
        if (std::string(ext) == ".bmp") EXPECT_NE(reason.find("truncated BMP"), std::string::npos) << reason;
        EXPECT_EQ(decode_image(whole, 0).bgr.size(), image.size()) << ext;
    }
}

TEST(Decode, KnownUnsupportedFormatsAreNamed) {
    auto reason = [](std::vector<std::uint8_t> bytes) {
        bytes.resize(64, 0);
        try {
            decode_image(bytes, 0);
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("decoded");
    };
    EXPECT_NE(reason({0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c'}).find("HEIC/HEIF images are not supported"),
              std::string::npos);
    EXPECT_NE(reason({0, 0, 0, 0x1C, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f'}).find("AVIF"), std::string::npos);
    EXPECT_NE(reason({'G', 'I', 'F', '8', '9', 'a'}).find("GIF images are not supported"), std::string::npos);
    EXPECT_NE(reason({'h', 'e', 'l', 'l', 'o'}).find("unrecognised file signature"), std::string::npos);
}

TEST(Decode, HeadersOfEveryFormatAreCheckedBeforeDecoding) {
    const cv::Mat image(30, 20, CV_8UC3, cv::Scalar(1, 2, 3));
    for (const std::string ext : {".tif", ".ppm"}) {
        const ImageHeader h = peek_header(encode(image, ext));
        EXPECT_EQ(h.width, 20) << ext;
        EXPECT_EQ(h.height, 30) << ext;
    }
    const std::string pnm = "P6\n# a comment\n 70000 70000\n255\n";
    EXPECT_EQ(peek_header(std::vector<std::uint8_t>(pnm.begin(), pnm.end())).width, 70000);
    // Sizes beyond INT_MAX saturate instead of wrapping to a negative product.
    const ImageHeader huge = peek_header(awkward::png_bomb(0xFFFFFFF0u, 2));
    EXPECT_EQ(huge.width, INT_MAX);
    for (const auto& bomb : {awkward::png_bomb(40000, 40000), awkward::jpeg_with_size(encode(image, ".jpg"), 65000, 65000)}) {
        try {
            decode_image(bomb, 150'000'000);
            FAIL() << "expected --max-pixels refusal";
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find("exceeds --max-pixels"), std::string::npos) << e.what();
        }
    }
}

TEST(Decode, ExifOrientationOfPngAndWebp) {
    awkward::PngOptions exif;
    exif.extra.push_back({"eXIf", awkward::exif_tiff(8)});
    EXPECT_EQ(exif_orientation(awkward::png(cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(9)), exif)), 8);
    std::vector<std::uint8_t> webp = encode(cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(9)), ".webp");
    const auto tiff = awkward::exif_tiff(3);
    std::vector<std::uint8_t> chunk = {'E', 'X', 'I', 'F', std::uint8_t(tiff.size()), 0, 0, 0};
    chunk.insert(chunk.end(), tiff.begin(), tiff.end());
    webp.insert(webp.end(), chunk.begin(), chunk.end());  // RIFF size left stale: readers walk chunks
    EXPECT_EQ(exif_orientation(webp), 3);
}

TEST(Decode, TiffOwnOrientationTagIsApplied) {
    // Applied once (OpenCV's reader does it; we must not do it again) and recorded; 16-bit too.
    cv::Mat upright(40, 60, CV_8UC3), upright16;
    cv::randu(upright, 0, 255);
    upright.convertTo(upright16, CV_16U, 257);
    for (const cv::Mat& image : {upright, upright16}) {
        for (const auto& [orientation, stored_as] : std::vector<std::pair<int, int>>{
                 {6, cv::ROTATE_90_COUNTERCLOCKWISE}, {3, cv::ROTATE_180}, {8, cv::ROTATE_90_CLOCKWISE}}) {
            cv::Mat stored;
            cv::rotate(image, stored, stored_as);
            const DecodedImage d = decode_image(awkward::tiff_with_orientation(stored, orientation), 0);
            EXPECT_EQ(d.exif_orientation, orientation);
            ASSERT_EQ(d.bgr.size(), upright.size()) << orientation;
            EXPECT_EQ(cv::norm(d.bgr, upright, cv::NORM_INF), 0.0) << orientation << " depth " << image.depth();
        }
    }
    // Orientation 1 (or none): as stored.
    EXPECT_EQ(cv::norm(decode_image(awkward::tiff_with_orientation(upright, 1), 0).bgr, upright, cv::NORM_INF), 0.0);
}

TEST(Decode, JpegWithThousandsOfScansIsRefusedQuickly) {
    // A progressive JPEG whose last scan is repeated 600 times: each repeat is one more scan for
    // the decoder to consume, the shape of a known decoding-time bomb.
    cv::Mat image(64, 64, CV_8UC3);
    cv::randu(image, 0, 255);
    std::vector<std::uint8_t> jpeg;
    ASSERT_TRUE(cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
    std::size_t last_sos = 0;
    for (std::size_t i = 0; i + 1 < jpeg.size(); ++i)
        if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xDA) last_sos = i;
    ASSERT_GT(last_sos, 0u);
    const std::vector<std::uint8_t> scan(jpeg.begin() + static_cast<long>(last_sos), jpeg.end() - 2);  // up to EOI
    std::vector<std::uint8_t> bomb(jpeg.begin(), jpeg.end() - 2);
    for (int i = 0; i < 600; ++i) bomb.insert(bomb.end(), scan.begin(), scan.end());
    bomb.insert(bomb.end(), {0xFF, 0xD9});
    try {
        decode_image(bomb, 0);
        FAIL() << "expected the scan limit";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("more than 500 scans"), std::string::npos) << e.what();
    }
    EXPECT_NO_THROW(decode_image(jpeg, 0));  // an ordinary progressive JPEG is fine
}

TEST(Decode, JpegAtADctScaleIsThatMuchSmallerAndKnowsThePhotoSize) {
    const std::filesystem::path photo = aiportrait::testing::sample_photo(1);
    AIPORTRAIT_REQUIRE_FILE(photo);
    const std::vector<std::uint8_t> bytes = read_input_bytes(photo.string());
    const DecodedImage full = decode_image(bytes, 0);
    EXPECT_EQ(full.scale_denom, 1);
    EXPECT_EQ(full.photo_size, full.bgr.size());
    for (const int d : {2, 4, 8}) {
        const DecodedImage small = decode_image(bytes, 0, d);
        EXPECT_EQ(small.scale_denom, d);
        EXPECT_EQ(small.photo_size, full.bgr.size()) << d;
        EXPECT_EQ(small.bgr.cols, (full.bgr.cols + d - 1) / d) << d;
        EXPECT_EQ(small.bgr.rows, (full.bgr.rows + d - 1) / d) << d;
        // The same picture: close to the full decode area-shrunk (away from the ragged edge).
        cv::Mat shrunk;
        cv::resize(full.bgr, shrunk, small.bgr.size(), 0, 0, cv::INTER_AREA);
        const cv::Rect inner(2, 2, small.bgr.cols - 4, small.bgr.rows - 4);
        EXPECT_LT(cv::norm(small.bgr(inner), shrunk(inner), cv::NORM_L1) / (inner.area() * 3.0), 4.0) << d;
    }
    // Rotated by EXIF: the photo's size is the upright one, the pixels too.
    const cv::Mat image(120, 200, CV_8UC3, cv::Scalar(40, 90, 160));
    const DecodedImage turned = decode_image(jpeg_with_orientation(image, 6), 0, 2);
    EXPECT_EQ(turned.photo_size, cv::Size(120, 200));
    EXPECT_EQ(turned.bgr.size(), cv::Size(60, 100));
    // Other formats ignore the scale; nonsense scales are refused.
    const DecodedImage png = decode_image(encode(image, ".png"), 0, 4);
    EXPECT_EQ(png.scale_denom, 1);
    EXPECT_EQ(png.bgr.size(), image.size());
    EXPECT_THROW(decode_image(bytes, 0, 3), std::invalid_argument);
    // --max-pixels is about the photo, not about what a scaled decode makes of it.
    EXPECT_THROW(decode_image(encode(image, ".jpg"), 200 * 120 - 1, 8), std::runtime_error);
}

TEST(Decode, DctScaleIsTheSmallestThatKeepsTheLongerSide) {
    ImageHeader h{SourceFormat::jpeg, 4352, 2903};
    EXPECT_EQ(jpeg_scale_denom(h, 2048), 2);   // 2176 >= 2048; 1088 is not
    EXPECT_EQ(jpeg_scale_denom(h, 1088), 4);
    EXPECT_EQ(jpeg_scale_denom(h, 544), 8);
    EXPECT_EQ(jpeg_scale_denom(h, 0), 1);      // --detect-max-side 0: the detector sees it all
    h.width = 4032;                            // a phone's 12 MP: 2016 < 2048
    EXPECT_EQ(jpeg_scale_denom(h, 2048), 1);
    h = ImageHeader{SourceFormat::jpeg, 2903, 4097};
    EXPECT_EQ(jpeg_scale_denom(h, 2048), 2);   // ceil(4097 / 2) = 2049
    h.format = SourceFormat::png;
    EXPECT_EQ(jpeg_scale_denom(h, 2048), 1);
}

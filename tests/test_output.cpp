#include "aiportrait/output.hpp"

#include "testing.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <unistd.h>

using namespace aiportrait;
using namespace aiportrait::testing;

namespace {

int count_entries(const fs::path& dir) {
    int n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
}

}  // namespace

TEST(Output, PngRoundTripIsLosslessAndKeepsAlpha) {
    cv::Mat bgr(37, 53, CV_8UC3), alpha(37, 53, CV_8UC1);
    cv::randu(bgr, 0, 255);
    cv::randu(alpha, 0, 255);
    const auto bytes = encode_image(bgr, alpha, "x.png");
    const cv::Mat back = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    ASSERT_EQ(back.channels(), 4);
    cv::Mat planes[4];
    cv::split(back, planes);
    EXPECT_EQ(cv::norm(planes[3], alpha, cv::NORM_INF), 0);
    cv::Mat color;
    cv::cvtColor(back, color, cv::COLOR_BGRA2BGR);
    EXPECT_EQ(cv::norm(color, bgr, cv::NORM_INF), 0);
}

TEST(Output, UnknownExtensionIsRefused) {
    const cv::Mat bgr(8, 8, CV_8UC3, cv::Scalar::all(0));
    EXPECT_THROW(encode_image(bgr, cv::Mat(), "x.gif"), std::runtime_error);
    EXPECT_FALSE(encode_image(bgr, cv::Mat(), "x.jpg").empty());
}

TEST(Output, AtomicWriteLeavesOnlyTheFile) {
    TempDir dir;
    write_file_atomic((dir / "sub/out.json").string(), std::string("{\"a\": 1}\n"));
    EXPECT_EQ(read_text(dir / "sub/out.json"), "{\"a\": 1}\n");
    EXPECT_EQ(count_entries(dir / "sub"), 1);
    write_file_atomic((dir / "sub/out.json").string(), std::string("{}\n"));  // replaces
    EXPECT_EQ(read_text(dir / "sub/out.json"), "{}\n");
}

TEST(Output, UnwritableFolderNamesPathAndLeavesNothing) {
    if (::geteuid() == 0) GTEST_SKIP() << "root ignores folder permissions";
    TempDir dir;
    fs::create_directories(dir / "locked");
    fs::permissions(dir / "locked", fs::perms::owner_read | fs::perms::owner_exec);
    try {
        write_file_atomic((dir / "locked/out.png").string(), std::string("x"));
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("locked/out.png"), std::string::npos) << e.what();
    }
    EXPECT_EQ(count_entries(dir / "locked"), 0);
}

TEST(Output, MissingParentThatIsAFileNamesPath) {
    TempDir dir;
    write_text(dir / "plainfile", "x");
    try {
        write_file_atomic((dir / "plainfile/out.png").string(), std::string("x"));
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("plainfile"), std::string::npos) << e.what();
    }
}

TEST(Output, StaleTemporariesOfDeadProcessesAreRemoved) {
    TempDir dir;
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    std::string h(host);
    std::replace(h.begin(), h.end(), '.', '_');
    // PID 2^22+ is above Linux's pid_max default range and not running; our own PID is alive.
    write_text(dir / (".a.png.aiportrait-tmp." + h + ".4999999.AbCdEf"), "half");
    write_text(dir / (".b.png.aiportrait-tmp." + h + "." + std::to_string(::getpid()) + ".XyZabc"), "live");
    write_text(dir / "keep.png", "done");
    EXPECT_EQ(remove_stale_temporaries(dir.path().string()), 1);
    EXPECT_EQ(count_entries(dir.path()), 2);
    EXPECT_TRUE(fs::exists(dir / "keep.png"));
}

TEST(Output, NeverReplacesWhatIsNotARegularFile) {
    TempDir dir;
    fs::create_directories(dir / "taken.png");
    try {
        write_file_atomic((dir / "taken.png").string(), std::string("x"));
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(fs::is_directory(dir / "taken.png"));
    EXPECT_EQ(count_entries(dir.path()), 1) << "no temporary left";
}

TEST(Output, NamesNearTheFileSystemLimitStillWork) {
    // The temporary adds ~40 bytes of tag to the name; it must still fit NAME_MAX (255).
    TempDir dir;
    const std::string name = std::string(240, 'a') + "\xC3\xA9" + ".png";  // ends in a 2-byte UTF-8 letter
    write_file_atomic((dir / name).string(), std::string("x"));
    EXPECT_EQ(read_text(dir / name), "x");
    EXPECT_EQ(count_entries(dir.path()), 1);
}

TEST(Output, OnlyPngAndWebpKeepAlpha) {
    EXPECT_TRUE(keeps_alpha("a.PNG"));
    EXPECT_TRUE(keeps_alpha("a.webp"));
    EXPECT_TRUE(keeps_alpha("-"));
    EXPECT_FALSE(keeps_alpha("a.jpg"));
}

// --all-faces' names, made and recognised by one owner (resume, the folder walk and the writer).
TEST(Output, FaceOutputNamesAreMadeAndRecognisedAlike) {
    EXPECT_EQ(face_output_path("out/a.png", 2), "out/a_face3.png");
    EXPECT_EQ(face_output_owner("a_face3"), "a");
    EXPECT_EQ(face_output_owner("a_face1_face12"), "a_face1");
    EXPECT_EQ(face_output_owner("a_face"), "");
    EXPECT_EQ(face_output_owner("a_faces"), "");
    EXPECT_EQ(face_output_owner("a"), "");
}

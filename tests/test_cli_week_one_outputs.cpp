// What a user hits in the first week (issue #30), about what is on disk afterwards: a grey photo's
// portrait, no outputs that no sidecar describes, no portraits of portraits, a gallery that finds
// the photos from any folder. Each on the real binary.
#include "cli_testing.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

using namespace aiportrait::testing;
using nlohmann::json;

namespace {

// How many pixels of an 8-bit BGR image have channels more than `spread` apart.
int coloured_pixels(const cv::Mat& bgr, int spread) {
    int n = 0;
    for (int y = 0; y < bgr.rows; ++y)
        for (int x = 0; x < bgr.cols; ++x) {
            const cv::Vec3b p = bgr.at<cv::Vec3b>(y, x);
            n += std::max({p[0], p[1], p[2]}) - std::min({p[0], p[1], p[2]}) > spread;
        }
    return n;
}

}  // namespace

TEST(WeekOneOutputs, AGreyPhotoGivesAGreyPortrait) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    // A black-and-white print scanned in colour: three equal channels.
    cv::Mat grey, bgr;
    cv::cvtColor(cv::imread(sample_photo(1).string()), grey, cv::COLOR_BGR2GRAY);
    cv::cvtColor(grey, bgr, cv::COLOR_GRAY2BGR);
    ASSERT_TRUE(cv::imwrite((dir / "bw.png").string(), bgr));
    // The default generator, which tints grey faces (pink lips, blue eyes).
    for (const char* kind : {"", " --paste"}) {
        const auto r = run_shell(tool() + " --no-identity --threads 2 " + quote(dir / "bw.png") + " -o " +
                                 quote(dir / "p.png") + kind);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        const cv::Mat portrait = cv::imread((dir / "p.png").string(), cv::IMREAD_COLOR);
        ASSERT_FALSE(portrait.empty());
        EXPECT_EQ(coloured_pixels(portrait, 2), 0) << kind;
    }
}

namespace {

std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().rfind("aiportrait-run.", 0) != 0) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

TEST(WeekOneOutputs, ARerunRemovesWhatTheEarlierSidecarOfItsNameRecorded) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    // -o with another extension each time: one image, the one x.json describes.
    for (const char* name : {"x.webp", "x.jpeg", "x.PNG"})
        ASSERT_EQ(run_shell(fast() + " " + quote(sample_photo(1)) + " -o " + quote(dir / "single" / name)).exit_code, 0);
    EXPECT_EQ(names_in(dir / "single"), (std::vector<std::string>{"x.PNG", "x.json"}));
    // A folder run in another --format, then in another mode and back.
    cv::Mat a = cv::imread(sample_photo(1).string()), b = cv::imread(sample_photo(2).string()), pair;
    cv::resize(b, b, cv::Size(b.cols * a.rows / b.rows, a.rows));
    cv::hconcat(a, b, pair);
    fs::create_directories(dir / "in");
    ASSERT_TRUE(cv::imwrite((dir / "in/pair.jpg").string(), pair));
    const std::string run = fast() + " " + quote(dir / "in") + " -o " + quote(dir / "out");
    ASSERT_EQ(run_shell(run + " --format jpg").exit_code, 0);
    ASSERT_EQ(run_shell(run).exit_code, 0);
    EXPECT_EQ(names_in(dir / "out"), (std::vector<std::string>{"pair.json", "pair.png"}));
    ASSERT_EQ(run_shell(run + " --all-faces").exit_code, 0);
    EXPECT_FALSE(fs::exists(dir / "out/pair.png"));
    EXPECT_TRUE(fs::exists(dir / "out/pair_face2.png"));
    ASSERT_EQ(run_shell(run).exit_code, 0);
    EXPECT_EQ(names_in(dir / "out"), (std::vector<std::string>{"pair.json", "pair.png"}));
    // A file a person put under such a name (bytes other than recorded) stays.
    ASSERT_EQ(run_shell(run + " --format webp").exit_code, 0);
    write_text(dir / "out/pair.webp", "mine now");
    ASSERT_EQ(run_shell(run).exit_code, 0);
    EXPECT_EQ(read_text(dir / "out/pair.webp"), "mine now");
}

TEST(WeekOneOutputs, AFolderWalkLeavesOutWhatTheToolMade) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    fs::create_directories(dir / "in/sub");
    fs::copy_file(sample_photo(1), dir / "in/a.jpg");
    fs::copy_file(sample_photo(2), dir / "in/sub/b.jpg");
    const std::string in = "cd " + quote(dir / "in") + " && " + fast();
    // Outputs beside the photos, twice: the second run does the photos again, not its outputs.
    for (int run = 0; run < 2; ++run) {
        const auto r = run_shell(in + " . -o . --gallery");
        EXPECT_EQ(r.exit_code, 0) << "run " << run << ": " << r.err;
        EXPECT_NE(r.err.find("2 inputs: 2 ok"), std::string::npos) << r.err;
    }
    // Into out/, then into out/sub/: the walk of '.' meets out/ and leaves its portraits out.
    fs::remove_all(dir / "in");
    fs::create_directories(dir / "in/sub");
    fs::copy_file(sample_photo(1), dir / "in/a.jpg");
    fs::copy_file(sample_photo(2), dir / "in/sub/b.jpg");
    ASSERT_EQ(run_shell(in + " . -o out/ --all-faces --gallery").exit_code, 0);
    const auto r = run_shell(in + " . -o out/sub/");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("2 inputs: 2 ok"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("that aiportrait made"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "in/out/sub/out")) << "portraits of portraits";
}

TEST(WeekOneOutputs, TheGalleryFindsThePhotosFromAnyFolder) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    fs::create_directories(dir / "home/photos");
    fs::copy_file(sample_photo(1), dir / "home/photos/a.jpg");
    fs::create_directories(dir / "elsewhere");
    // Relative paths, as a person types them; the gallery rebuilt from another folder.
    ASSERT_EQ(run_shell("cd " + quote(dir / "home") + " && " + fast() + " photos/ -o out/").exit_code, 0);
    const json sidecar = read_json(dir / "home/out/a.json");
    EXPECT_EQ(sidecar["working_directory"], fs::canonical(dir / "home").string());
    const auto r = run_shell("cd " + quote(dir / "elsewhere") + " && " + quote(binary()) + " gallery ../home/out");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("no thumbnail"), std::string::npos) << r.err;
    const std::string page = read_text(dir / "home/out/index.html");
    EXPECT_NE(page.find("../photos/a.jpg"), std::string::npos) << "the photo's card links to it";
}

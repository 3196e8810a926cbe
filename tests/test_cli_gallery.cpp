// The gallery (gallery.hpp) on the real binary: --gallery after a folder run, `aiportrait gallery
// DIR` over shards, thumbnails small and local, and a real browser (Debian's chromium, headless)
// that loads every image of the page from file://.
#include "cli_testing.hpp"

#include <opencv2/imgcodecs.hpp>

#include <regex>

using namespace aiportrait::testing;
using nlohmann::json;

namespace {

std::string chromium() {
    for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
        if (fs::exists(p)) return p;
    return "";
}

}  // namespace

TEST(Gallery, FolderRunWritesAPageOfSmallLocalThumbnails) {
    AIPORTRAIT_REQUIRE_CLI_MODELS();
    TempDir dir;
    const fs::path in = make_mixed_inputs(dir.path()), out = dir / "out";
    const auto r = run_shell(tool() + " " + quote(in) + " -o " + quote(out) + fast_model_args() + " --gallery");
    ASSERT_EQ(r.exit_code, 1) << r.err;  // flat.png and notes.jpg fail; the page shows them too
    ASSERT_TRUE(fs::is_regular_file(out / "index.html")) << r.err;
    const std::string page = read_text(out / "index.html");
    EXPECT_EQ(count_of(page, "<figure class=\"card"), 8);
    EXPECT_NE(page.find("8 inputs: 6 ok, 1 no face, 1 failed"), std::string::npos);
    EXPECT_NE(page.find("not an image (unrecognised file signature)"), std::string::npos);
    EXPECT_EQ(count_of(page, "loading=\"lazy\""), 6 + 6 + 1);  // six photos and portraits, the flat picture
    EXPECT_EQ(page.find("file://"), std::string::npos);
    EXPECT_EQ(page.find("src=\"/"), std::string::npos) << "absolute paths do not survive a copied folder";
    int thumbs = 0;
    for (const auto& e : fs::directory_iterator(out / ".aiportrait-gallery")) {
        ++thumbs;
        EXPECT_LE(fs::file_size(e.path()), 40u * 1024) << e.path();
        EXPECT_FALSE(cv::imread(e.path().string()).empty()) << e.path();
    }
    EXPECT_EQ(thumbs, 13);
    // Every src and href resolves beside the page.
    const std::regex link("(src|href)=\"([^\"]+)\"");
    for (auto it = std::sregex_iterator(page.begin(), page.end(), link); it != std::sregex_iterator(); ++it)
        EXPECT_TRUE(fs::exists(out / (*it)[2].str())) << (*it)[2].str();

    // The subcommand rebuilds the same page from the sidecars, reusing the thumbnails.
    const std::string before = page;
    fs::remove(out / "index.html");
    const auto again = run_shell(tool() + " gallery " + quote(out));
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.err.find("0 new thumbnails"), std::string::npos) << again.err;
    EXPECT_EQ(read_text(out / "index.html"), before);

    EXPECT_EQ(run_shell(tool() + " gallery " + quote(dir / "nowhere")).exit_code, 2);
    const auto single = run_shell(tool() + " " + quote(sample_photo(1)) + " -o " + quote(dir / "p.png") + " --gallery");
    EXPECT_EQ(single.exit_code, 2);
    EXPECT_NE(single.err.find("--gallery"), std::string::npos) << single.err;
}

TEST(Gallery, ShardsIntoOneFolderEndWithEveryInputOnThePage) {
    AIPORTRAIT_REQUIRE_CLI_MODELS();
    TempDir dir;
    const fs::path in = make_mixed_inputs(dir.path()), out = dir / "out";
    for (const char* shard : {" --shard 1/2", " --shard 2/2"})
        ASSERT_LE(run_shell(tool() + " " + quote(in) + " -o " + quote(out) + fast_model_args() + " --gallery" + shard).exit_code, 1);
    EXPECT_EQ(count_of(read_text(out / "index.html"), "<figure class=\"card"), 8);
}

TEST(Gallery, ChromiumLoadsEveryImageFromFile) {
    AIPORTRAIT_REQUIRE_CLI_MODELS();
    const std::string browser = chromium();
    if (browser.empty())
        GTEST_SKIP() << "chromium is not installed (apt install chromium) : the page is not rendered in a browser";
    TempDir dir;
    const fs::path in = make_mixed_inputs(dir.path()), out = dir / "out";
    ASSERT_LE(run_shell(tool() + " " + quote(in) + " -o " + quote(out) + fast_model_args() + " --gallery").exit_code, 1);
    const std::string url = "file://" + fs::absolute(out / "index.html").string();
    const std::string flags = " --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=" +
                              quote(dir / "profile") + " --virtual-time-budget=20000 ";
    const auto dom = run_shell(browser + flags + "--dump-dom " + quote(url + "#check"));
    ASSERT_EQ(dom.exit_code, 0) << dom.err;
    EXPECT_EQ(count_of(dom.out, "<img "), 13) << dom.out.substr(0, 2000);
    EXPECT_EQ(count_of(dom.out, "data-width=\""), 13) << "images that did not load";
    EXPECT_EQ(count_of(dom.out, "broken"), count_of(read_text(out / "index.html"), "broken"));  // only the CSS/script's own
    const auto shot = run_shell(browser + flags + "--window-size=1280,1400 --screenshot=" + quote(dir / "page.png") + " " +
                                quote(url));
    ASSERT_EQ(shot.exit_code, 0) << shot.err;
    const cv::Mat png = cv::imread((dir / "page.png").string());
    ASSERT_FALSE(png.empty());
    cv::Scalar mean, stddev;
    cv::meanStdDev(png, mean, stddev);
    EXPECT_GT(stddev[0], 20) << "a blank page";
}

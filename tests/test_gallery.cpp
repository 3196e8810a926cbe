// gallery.hpp without the binary: write_gallery() over sidecars written by hand, including the
// sparse ones that older runs, failed inputs and other tools leave (keys missing, wrong types).
#include "aiportrait/gallery.hpp"

#include "testing.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

using namespace aiportrait;
using namespace aiportrait::testing;
using nlohmann::json;

namespace {

json sidecar(const fs::path& input) {
    return {{"schema", "aiportrait.sidecar"}, {"status", "ok"}, {"input", {{"path", input.string()}}}};
}

}  // namespace

// Faces without "output", "strength" or "identity_distance" (a portrait run records no output
// per face; --no-identity no distance) add no picture and no number. Reading a missing key of a const json with
// operator[] was undefined behaviour here: now and then a face without "output" became a
// "portrait (no preview)" box linking to the folder (CI, 2026-12-05), and AddressSanitizer
// reports it as a heap-buffer-overflow on every run.
TEST(Gallery, SparseSidecarsGiveOnlyWhatTheyRecord) {
    TempDir dir;
    const fs::path in = dir / "in", out = dir / "out";
    fs::create_directories(in);
    fs::create_directories(out);
    cv::imwrite((in / "a.png").string(), cv::Mat(40, 60, CV_8UC3, cv::Scalar(10, 200, 30)));

    json a = sidecar(in / "a.png");
    a["faces"] = json::array({{{"used", true}}, {{"used", false}}, {{"used", true}, {"strength", 0.5}}});
    write_text(out / "a.json", a.dump());
    json b = sidecar(in / "gone.png");
    b["status"] = "error";
    b["error"] = 7;       // not a string: no error line
    b["faces"] = "none";  // not a list: no faces
    write_text(out / "b.json", b.dump());
    write_text(out / "c.json", json{{"schema", "aiportrait.sidecar"}}.dump());  // nothing but the schema

    for (int round = 0; round < 2; ++round) {  // the second run over a folder that has a page
        const GalleryResult g = write_gallery(out.string());
        EXPECT_EQ(g.cards, 3);
        EXPECT_EQ(g.thumbnails_made, 0) << "no input recorded a sha256, so no thumbnail is named";
        const std::string page = read_text(out / kGalleryPage);
        EXPECT_EQ(count_of(page, "<figure class=\"card"), 3);
        EXPECT_EQ(count_of(page, "portrait"), count_of(page, "aiportrait"))
            << "no face recorded an output, so no portrait box:\n" << page;
        EXPECT_EQ(count_of(page, "<li>"), 2) << page;
        EXPECT_NE(page.find("<li>face 1</li><li>face 3, strength 0.50</li>"), std::string::npos) << page;
        EXPECT_EQ(page.find("class=\"error\""), std::string::npos) << page;
        EXPECT_NE(page.find("3 inputs: 1 ok, 0 no face, 2 failed"), std::string::npos) << page;
    }
}

// A face that recorded its own output (--all-faces) gets its picture, thumbnail included.
TEST(Gallery, FaceOutputsGetTheirThumbnails) {
    TempDir dir;
    const fs::path out = dir / "out";
    fs::create_directories(out);
    cv::imwrite((out / "a_face1.png").string(), cv::Mat(64, 64, CV_8UC3, cv::Scalar(200, 100, 50)));
    json a = sidecar(dir / "a.png");
    a["faces"] = json::array({{{"used", true}, {"output", (out / "a_face1.png").string()},
                               {"output_sha256", std::string(64, 'e')}}});
    write_text(out / "a.json", a.dump());
    const GalleryResult g = write_gallery(out.string());
    EXPECT_EQ(g.thumbnails_made, 1);
    const std::string page = read_text(out / kGalleryPage);
    EXPECT_NE(page.find("<a href=\"a_face1.png\"><img"), std::string::npos) << page;
    EXPECT_TRUE(fs::exists(out / kGalleryAssets / (std::string(16, 'e') + "-220.jpg")));
}

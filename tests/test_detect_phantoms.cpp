// Phantom faces (issues #11, #30): the raw YuNet network reports faces on gradients, fruit, walls,
// skin and noise, usually as a box filling much of its view. The detector verifies such claims
// (detect.cpp), drops faces under --min-face, and a second network confirms them (face_check.hpp).
// A labelled development set keeps precision and recall in check: opencv-doc's pictures (../shared/eval/scenes), crops of the eval photos away
// from every face, synthetic gradients and textures, and the reference faces of the eval photos.
#include "aiportrait/decode.hpp"
#include "aiportrait/detect.hpp"
#include "aiportrait/face_check.hpp"

#include "reference_faces.hpp"
#include "testing.hpp"

#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>

using namespace aiportrait;
using namespace aiportrait::testing;

namespace {

fs::path scenes_dir() { return shared_dir() / "eval" / "scenes"; }

cv::Mat load(const fs::path& path) { return decode_image(read_input_bytes(path.string()), 0).bgr; }

// With verification on (the CLI's detector), the second opinion too, as the CLI runs it.
std::unique_ptr<FaceDetector> yunet(const DetectorOptions& options = {}) {
    auto detector = make_yunet_detector(yunet_model().string(), options);
    if (!options.verify) return detector;
    return with_second_opinion(std::move(detector), std::make_shared<const FaceCheck>((models_dir() / kFaceCheckModelFile).string()));
}

// opencv-doc 4.6's 91 sample pictures, labelled by looking at each one. Not listed, because they
// show real people: messi5.jpg (a footballer, face ~36 px), basketball1.png and basketball2.png
// (two men, one face ~32 px visible), left06.jpg and right06.jpg (the man holding the
// calibration board, his face in profile ~92 px). Every other picture has no human face:
const char* const kFaceFree[] = {
    // Animals, a 3-D monkey head, a drawn fish and robot: faces, but not human ones.
    "Blender_Suzanne1.jpg", "Blender_Suzanne2.jpg", "HappyFish.jpg", "baboon.jpg", "chicky_512.png",
    "squirrel_cls.jpg", "ml.png",
    // Graffiti with cartoon creatures; a Van Gogh; black head silhouettes without features.
    "graf1.png", "graf3.png", "starry_night.jpg", "pic1.png", "templ.png",
    // A newspaper sudoku: the only face is a printed cartoon of a man, ~24 px and cut by the edge.
    "sudoku.png",
    // Stereo-calibration frames: the man's head is behind the board or out of the frame.
    "left01.jpg", "left02.jpg", "left03.jpg", "left04.jpg", "left05.jpg", "left07.jpg", "left08.jpg",
    "left09.jpg", "left11.jpg", "left12.jpg", "left13.jpg", "left14.jpg", "right01.jpg", "right02.jpg",
    "right03.jpg", "right04.jpg", "right05.jpg", "right07.jpg", "right08.jpg", "right09.jpg", "right11.jpg",
    "right12.jpg", "right13.jpg", "right14.jpg",
    // Scenes: aerial views, buildings, streets, a car, an office, books.
    "aero1.jpg", "aero3.jpg", "building.jpg", "home.jpg", "leuvenA.jpg", "leuvenB.jpg",
    "licenseplate_motion.jpg", "left.jpg", "right.jpg",
    // Objects: fruit, plants, boxes, toys, a circuit board, a notebook, a butterfly.
    "apple.jpg", "orange.jpg", "fruits.jpg", "aloeL.jpg", "aloeR.jpg", "aloeGT.png", "blox.jpg", "board.jpg",
    "box.png", "box_in_scene.png", "butterfly.jpg", "ela_modified.jpg", "ela_original.jpg", "rubberwhale1.png",
    "rubberwhale2.png", "smarties.png", "stuff.jpg", "pca_test1.jpg",
    // Drawings, logos, patterns, text.
    "LinuxLogo.jpg", "WindowsLogo.jpg", "opencv-logo.png", "opencv-logo-white.png", "cards.png",
    "chessboard.png", "detect_blob.png", "digits.png", "ellipses.jpg", "gradient.png", "imageTextN.png",
    "imageTextR.png", "mask.png", "notes.png", "pic2.png", "pic3.png", "pic4.png", "pic5.png", "pic6.png",
    "text_defocus.jpg", "text_motion.jpg", "tmpl.png",
};

// Gradients and textures at sizes from 64 to 1024 px: each a "face" to the raw network at some
// size (a horizontal gradient at 256 px: 0.82; a radial one at 0.98; sine gratings and noise).
std::vector<std::pair<std::string, cv::Mat>> synthetic_pictures() {
    std::vector<std::pair<std::string, cv::Mat>> out;
    auto gray = [](const cv::Mat& f) {
        cv::Mat u8, bgr;
        f.convertTo(u8, CV_8U);
        cv::cvtColor(u8, bgr, cv::COLOR_GRAY2BGR);
        return bgr;
    };
    for (const int s : {64, 128, 192, 256, 320, 384, 512, 768, 1024}) {
        cv::Mat h(s, s, CV_32F), radial(s, s, CV_32F), sine(s, s, CV_32F);
        for (int y = 0; y < s; ++y)
            for (int x = 0; x < s; ++x) {
                h.at<float>(y, x) = 255.f * x / (s - 1);
                radial.at<float>(y, x) = std::min(255.f, 255.f * std::hypot(2.f * x / (s - 1) - 1, 2.f * y / (s - 1) - 1));
                sine.at<float>(y, x) = 127.f + 120.f * std::sin(2 * 3.14159265f * x / 8);
            }
        cv::Mat flipped, vertical, diagonal;
        cv::flip(h, flipped, 1);
        cv::transpose(h, vertical);
        diagonal = (h + vertical) / 2;
        const std::string n = std::to_string(s);
        out.emplace_back("horizontal gradient " + n, gray(h));
        out.emplace_back("mirrored gradient " + n, gray(flipped));
        out.emplace_back("vertical gradient " + n, gray(vertical));
        out.emplace_back("diagonal gradient " + n, gray(diagonal));
        out.emplace_back("radial gradient " + n, gray(radial));
        out.emplace_back("sine grating " + n, gray(sine));
        cv::Mat noise(s, s, CV_8UC3), blurred;
        cv::RNG rng(s);
        rng.fill(noise, cv::RNG::UNIFORM, 0, 256);
        cv::GaussianBlur(noise, blurred, cv::Size(), s / 40.0 + 1);
        out.emplace_back("noise " + n, noise);
        out.emplace_back("blurred noise " + n, blurred);
    }
    return out;
}

// The eval photos with their reference faces, computed once for the tests below.
struct EvalPhoto {
    fs::path path;
    std::vector<cv::Rect2f> reference;
};

const std::vector<EvalPhoto>& eval_photos() {
    static const std::vector<EvalPhoto> photos = [] {
        std::vector<EvalPhoto> out;
        std::vector<fs::path> paths;
        for (const auto& entry : fs::directory_iterator(eval_faces_dir()))
            if (entry.path().extension() == ".jpg") paths.push_back(entry.path());
        std::sort(paths.begin(), paths.end());
        for (const fs::path& p : paths) out.push_back({p, reference_faces(load(p), p.filename().string())});
        return out;
    }();
    return photos;
}

// "\n  NAME: 0.94 at 455x455" for the list of pictures that gave a face.
std::string fmt_face_line(const std::string& name, const Face& f) {
    char line[256];
    std::snprintf(line, sizeof line, "\n  %s: %.2f at %.0fx%.0f", name.c_str(), f.score, f.box.width, f.box.height);
    return line;
}

// Prints how many of `total` face-free pictures gave no face (the ones that did, one line each in
// `which`) and holds the share to the target, 95 %.
void expect_mostly_face_free(const char* what, int with_face, int total, const std::string& which) {
    const double free_share = total ? 1.0 - double(with_face) / total : 0.0;
    std::printf("%s: %d of %d give no face (%.1f%%)%s\n", what, total - with_face, total, 100 * free_share, which.c_str());
    EXPECT_GE(free_share, 0.95) << which;
}

bool found(const std::vector<Face>& faces, const cv::Rect2f& box) {
    for (const Face& f : faces)
        if (iou(f.box, box) >= 0.5f) return true;
    return false;
}

#define REQUIRE_SCENES()                  \
    AIPORTRAIT_REQUIRE_FILE(yunet_model()); \
    AIPORTRAIT_REQUIRE_FILE(scenes_dir())

#define REQUIRE_EVAL()                    \
    AIPORTRAIT_REQUIRE_FILE(yunet_model()); \
    AIPORTRAIT_REQUIRE_FILE(eval_faces_dir())

}  // namespace

TEST(Phantoms, GradientsAndTexturesAreNotFaces) {
    AIPORTRAIT_REQUIRE_FILE(yunet_model());
    const auto detector = yunet();
    DetectorOptions raw_options;
    raw_options.verify = false;
    raw_options.min_face = 0;
    const auto raw = yunet(raw_options);
    // The one of issue #11: a plain horizontal gradient at 256 px, a face at 0.82 to the network.
    const auto pictures_list = synthetic_pictures();
    ASSERT_EQ(pictures_list[3 * 8].first, "horizontal gradient 256");
    EXPECT_FALSE(raw->run(pictures_list[3 * 8].second).empty());
    EXPECT_TRUE(detector->run(pictures_list[3 * 8].second).empty());
    int raw_faces = 0, faces = 0, pictures = 0;
    for (const auto& [name, picture] : pictures_list) {
        ++pictures;
        raw_faces += !raw->run(picture).empty();
        const std::vector<Face> f = detector->run(picture);
        faces += !f.empty();
        EXPECT_TRUE(f.empty()) << name << ": a face at " << f.front().score << ", " << f.front().box;
    }
    std::printf("synthetic pictures: %d of %d give a face (raw network: %d)\n", faces, pictures, raw_faces);
    EXPECT_GT(raw_faces, 0) << "the raw network no longer sees these phantoms: the set needs new ones";
}

TEST(Phantoms, FaceFreeScenesGiveNoFace) {
    REQUIRE_SCENES();
    // Portrait mode, as the CLI runs it, and every view (--all-faces): both must stay empty.
    DetectorOptions portrait;
    portrait.main_face_only = true;
    const auto all = yunet(), main = yunet(portrait);
    int pictures = 0, with_face = 0;
    std::string which;
    for (const char* name : kFaceFree) {
        const fs::path path = scenes_dir() / name;
        ASSERT_TRUE(fs::exists(path)) << path;
        const cv::Mat picture = load(path);
        ++pictures;
        const std::vector<Face> a = all->run(picture), m = main->run(picture);
        if (a.empty() && m.empty()) continue;
        ++with_face;
        const Face& f = a.empty() ? m.front() : a.front();
        which += fmt_face_line(name, f);
    }
    EXPECT_EQ(pictures, 86);
    expect_mostly_face_free("opencv-doc face-free pictures", with_face, pictures, which);
}

TEST(Phantoms, RealFacesInScenesAreFound) {
    REQUIRE_SCENES();
    // The two that are at least --min-face: the calibration man in profile.
    const auto detector = yunet();
    for (const char* name : {"left06.jpg", "right06.jpg"}) {
        const std::vector<Face> faces = detector->run(load(scenes_dir() / name));
        ASSERT_EQ(faces.size(), 1u) << name;
        EXPECT_GT(face_size(faces[0]), 80.f) << name;
    }
    // The others are under 40 px: no face, and the detection says how big they were.
    const Detection messi = detector->detect(load(scenes_dir() / "messi5.jpg"));
    EXPECT_TRUE(messi.faces.empty());
    EXPECT_GT(messi.largest_dropped, 30.f);
    EXPECT_EQ(no_face_message(messi, 40), "no face of at least 40 px (largest: 36 px)");
}

TEST(Phantoms, BackgroundOfEvalPhotosGivesNoFace) {
    REQUIRE_EVAL();
    // Square crops (a half, a third, a quarter of the shorter side) at the corners and edge
    // middles, kept only if no box of the raw network at score 0.5 (nor a reference face) has
    // its centre within one box side of the crop: skin, hair, clothes, walls, backdrops.
    DetectorOptions loose;
    loose.score_threshold = 0.5f;
    loose.verify = false;
    loose.min_face = 0;
    const auto raw = yunet(loose), detector = yunet();
    int crops = 0, with_face = 0;
    std::string which;
    for (const EvalPhoto& p : eval_photos()) {
        const cv::Mat photo = load(p.path);
        std::vector<cv::Rect2f> boxes = p.reference;
        for (const Face& f : raw->run(photo)) boxes.push_back(f.box);
        auto clear = [&](const cv::Rect& r) {
            for (const cv::Rect2f& b : boxes) {
                const float m = std::max(b.width, b.height);
                const cv::Point2f c(b.x + b.width / 2, b.y + b.height / 2);
                if (c.x > r.x - m && c.x < r.br().x + m && c.y > r.y - m && c.y < r.br().y + m) return false;
            }
            return true;
        };
        int taken = 0;
        for (const double fraction : {0.5, 0.35, 0.25}) {
            const int s = static_cast<int>(std::min(photo.cols, photo.rows) * fraction);
            const int w = photo.cols - s, h = photo.rows - s;
            for (const cv::Point at : {cv::Point(0, 0), cv::Point(w, 0), cv::Point(0, h), cv::Point(w, h),
                                       cv::Point(w / 2, 0), cv::Point(w / 2, h), cv::Point(0, h / 2), cv::Point(w, h / 2)}) {
                const cv::Rect r(at, cv::Size(s, s));
                if (taken == 4 || !clear(r)) continue;
                ++taken;
                ++crops;
                const std::vector<Face> f = detector->run(photo(r).clone());
                if (f.empty()) continue;
                ++with_face;
                which += fmt_face_line(p.path.filename().string() + " crop " + std::to_string(crops), f.front());
            }
        }
    }
    EXPECT_GE(crops, 80);
    expect_mostly_face_free("background crops of the eval photos", with_face, crops, which);
}

TEST(Phantoms, EveryReferenceFaceIsStillFoundAtLittleCost) {
    REQUIRE_EVAL();
    DetectorOptions raw_options, portrait, raw_portrait;
    raw_options.verify = false;
    raw_options.min_face = 0;
    portrait.main_face_only = true;
    raw_portrait = raw_options;
    raw_portrait.main_face_only = true;
    const auto all = yunet(), main = yunet(portrait), raw_main = yunet(raw_portrait);
    using Clock = std::chrono::steady_clock;
    auto ms = [](Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); };
    int reference = 0, recalled = 0, photos = 0, tight = 0, tight_found = 0;
    double verified_ms = 0, raw_ms = 0;
    for (const EvalPhoto& p : eval_photos()) {
        const cv::Mat photo = load(p.path);
        ++photos;
        const std::vector<Face> faces = all->run(photo);
        for (const cv::Rect2f& box : p.reference) {
            ++reference;
            recalled += found(faces, box);
            EXPECT_TRUE(found(faces, box)) << p.path.filename() << ": reference face at " << box << " lost";
        }
        // Portrait mode, the CLI's default: same main face as the raw network, cost compared.
        auto t = Clock::now();
        const std::vector<Face> raw = raw_main->run(photo);
        raw_ms += ms(t);
        t = Clock::now();
        const std::vector<Face> verified = main->run(photo);
        verified_ms += ms(t);
        ASSERT_FALSE(verified.empty()) << p.path.filename();
        EXPECT_GT(iou(raw.front().box, verified.front().box), 0.999f) << p.path.filename();

        // The main face cropped so that it fills the picture (a user's own face crop), at the
        // photo's resolution and at 160 px: still a face.
        const Face& f = verified.front();
        for (const auto& [context, side] : {std::pair{1.3f, 0}, std::pair{1.6f, 160}}) {
            const float s = context * std::max(f.box.width, f.box.height);
            const cv::Point2f c(f.box.x + f.box.width / 2, f.box.y + f.box.height / 2);
            const cv::Rect r = cv::Rect(cv::Point(cvRound(c.x - s / 2), cvRound(c.y - s / 2)), cv::Size(cvRound(s), cvRound(s))) &
                               cv::Rect(0, 0, photo.cols, photo.rows);
            cv::Mat crop = photo(r).clone();
            float k = 1.f;
            if (side > 0) {
                k = float(side) / std::max(r.width, r.height);
                cv::resize(crop, crop, cv::Size(), k, k, cv::INTER_AREA);
            }
            const cv::Rect2f in_crop((f.box.x - r.x) * k, (f.box.y - r.y) * k, f.box.width * k, f.box.height * k);
            ++tight;
            tight_found += found(all->run(crop), in_crop);
            EXPECT_TRUE(found(all->run(crop), in_crop)) << p.path.filename() << " cropped at " << context;
        }
    }
    std::printf("eval photos: reference faces found %d/%d; main face cropped to fill the picture found %d/%d;\n"
                "  portrait-mode detect %.1f ms/photo with verification and --min-face, %.1f ms raw (x%.2f)\n",
                recalled, reference, tight_found, tight, verified_ms / photos, raw_ms / photos, verified_ms / raw_ms);
    EXPECT_GE(photos, 40);
    EXPECT_EQ(recalled, reference);
    EXPECT_LT(verified_ms, 2 * raw_ms) << "verification must not double the cost of detection";
}

// The letter "G" of the banner behind img23.jpg: the raw network's 0.98 "face" at the photo's
// right edge (~200 px), which --all-faces once portrayed. Its verifier score was 0.83 for the box
// of the whole 2048-px view; the tile's box (1 % shifted) makes it fall under 0.7, as real faces
// do not (EveryReferenceFaceIsStillFoundAtLittleCost).
TEST(Phantoms, BannerLetterBehindImg23IsNotAFace) {
    REQUIRE_EVAL();
    const fs::path path = eval_faces_dir() / "img23.jpg";
    AIPORTRAIT_REQUIRE_FILE(path);
    const cv::Point2f letter(2207.f, 984.f);
    DetectorOptions raw_options;
    raw_options.verify = false;
    bool raw_claims_it = false;
    const cv::Mat photo = load(path);
    for (const Face& f : yunet(raw_options)->run(photo)) raw_claims_it = raw_claims_it || f.box.contains(letter);
    ASSERT_TRUE(raw_claims_it) << "the raw network no longer takes the letter for a face: the test checks nothing";
    for (const Face& f : yunet()->run(photo))
        EXPECT_FALSE(f.box.contains(letter)) << "a face claimed on the banner letter at " << f.box << ", score " << f.score;
}

TEST(Phantoms, SmallRealFaceOutranksThePhantomAroundIt) {
    AIPORTRAIT_REQUIRE_FILE(yunet_model());
    AIPORTRAIT_REQUIRE_FILE(sample_photo(1));
    // A real face pasted small into the corner of a 1024-px texture, which the raw network takes
    // for a face of ~800 px (0.76 to 0.81): bigger, so it would be portrayed instead.
    const cv::Mat photo = load(sample_photo(1));
    const std::vector<Face> in_photo = yunet()->run(photo);
    ASSERT_FALSE(in_photo.empty());
    const Face& f = in_photo.front();
    const float s = 2.f * std::max(f.box.width, f.box.height);
    const cv::Rect r = cv::Rect(cvRound(f.box.x + f.box.width / 2 - s / 2), cvRound(f.box.y + f.box.height / 2 - s / 2),
                                cvRound(s), cvRound(s)) & cv::Rect(0, 0, photo.cols, photo.rows);
    std::map<std::string, cv::Mat> textures;
    for (auto& [name, picture] : synthetic_pictures()) textures[name] = picture;
    DetectorOptions portrait;
    portrait.main_face_only = true;
    const auto detector = yunet(portrait);
    for (const auto& [texture, side] : {std::pair{"radial gradient 1024", 50.f}, std::pair{"sine grating 1024", 80.f}}) {
        const float k = side / std::max(f.box.width, f.box.height);
        cv::Mat patch;
        cv::resize(photo(r), patch, cv::Size(), k, k, cv::INTER_AREA);
        cv::Mat canvas = textures.at(texture).clone();
        const cv::Point at(100, 100);
        patch.copyTo(canvas(cv::Rect(at, patch.size())));
        const cv::Rect2f pasted((f.box.x - r.x) * k + at.x, (f.box.y - r.y) * k + at.y, f.box.width * k, f.box.height * k);
        const std::vector<Face> faces = detector->run(canvas);
        ASSERT_FALSE(faces.empty()) << texture;
        EXPECT_GT(iou(faces.front().box, pasted), 0.5f)
            << texture << ": portrayed " << faces.front().box << " at " << faces.front().score << " instead of " << pasted;
        EXPECT_EQ(faces.size(), 1u) << texture;
    }
}

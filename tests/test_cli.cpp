// CLI tests: run the built binary on real photos and check outputs, sidecars and exit codes.
#include "aiportrait/align.hpp"
#include "aiportrait/compose.hpp"
#include "aiportrait/decode.hpp"
#include "aiportrait/detect.hpp"

#include "reference_faces.hpp"
#include "testing.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <map>

using namespace aiportrait;
using namespace aiportrait::testing;
using nlohmann::json;

namespace {

std::string identity_model() { return quote(test_models_dir() / "identity.pt"); }

json read_json(const fs::path& path) { return json::parse(read_text(path)); }

std::vector<json> ndjson(const std::string& text) {
    std::vector<json> records;
    std::stringstream ss(text);
    std::string line;
    while (std::getline(ss, line))
        if (!line.empty()) records.push_back(json::parse(line));
    return records;
}

#define REQUIRE_MODELS()                          \
    AIPORTRAIT_REQUIRE_FILE(yunet_model());       \
    AIPORTRAIT_REQUIRE_FILE(blazeface_model());   \
    AIPORTRAIT_REQUIRE_FILE(faceapi_dir());       \
    AIPORTRAIT_REQUIRE_FILE(sample_photo(1))

}  // namespace

TEST(Cli, SinglePhotoWritesPortraitAndSidecar) {
    REQUIRE_MODELS();
    TempDir dir;
    const auto r = run_shell(tool() + " " + quote(sample_photo(1)) + " -o " + quote(dir / "portrait.png") +
                             " --model " + identity_model());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.empty()) << "stdout is for data only: " << r.out;
    EXPECT_NE(r.err.find("1 input: 1 ok"), std::string::npos) << r.err;
    const cv::Mat portrait = cv::imread((dir / "portrait.png").string());
    EXPECT_EQ(portrait.size(), cv::Size(1024, 1024));
    const json j = read_json(dir / "portrait.json");
    EXPECT_EQ(j["status"], "ok");
    EXPECT_EQ(j["input"]["path"], sample_photo(1).string());
    EXPECT_EQ(j["input"]["sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(j["output"]["path"], (dir / "portrait.png").string());
    EXPECT_EQ(j["model"]["name"], "identity");
    EXPECT_EQ(j["detector"]["name"], "yunet");
    EXPECT_EQ(j["detector"]["main_face_only"], true) << "a portrait needs only the main face";
    EXPECT_EQ(j["detector"]["min_face"], 40) << "the default --min-face";
    EXPECT_EQ(j["parameters"]["batch"], 4) << "the CPU default";
    EXPECT_EQ(j["strength_mode"], "blend");
    ASSERT_GE(j["faces"].size(), 1u);
    EXPECT_EQ(j["faces"][0]["used"], true);
    EXPECT_EQ(j["faces"][0]["alignment_matrix"].size(), 2u);
    // The identity generator changes nothing, so the identity distance is ~0.
    EXPECT_LT(j["faces"][0]["identity_distance"].get<double>(), 0.05);
    EXPECT_GT(j["timings_ms"]["detect"].get<double>(), 0.0);
}

TEST(Cli, WithoutModelFailsNamingTheOption) {
    REQUIRE_MODELS();
    TempDir dir;
    // A models folder with the detectors and identity net but no default generator.
    for (const char* sub : {"yunet", "blazeface", "face-api"}) fs::create_directory_symlink(models_dir() / sub, dir / sub);
    const auto r = run_shell(quote(binary()) + " --models-dir " + quote(dir.path()) + " " + quote(sample_photo(1)) +
                             " -o " + quote(dir / "p.png"));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--model"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "p.png"));
}

TEST(Cli, DefaultGeneratorIsUsedWithoutModel) {
    REQUIRE_MODELS();
    AIPORTRAIT_REQUIRE_FILE(models_dir() / "generator" / "aiportrait-default.pt");
    TempDir dir;
    const auto r = run_shell(tool() + " " + quote(sample_photo(1)) + " -o " + quote(dir / "p.png"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = read_json(dir / "p.json");
    EXPECT_EQ(j["model"]["path"], (models_dir() / "generator" / "aiportrait-default.pt").string());
    EXPECT_EQ(j["strength_mode"], "model");
    EXPECT_GT(j["faces"][0]["identity_distance"].get<double>(), 0.1) << "a portrait, not a copy";
}

TEST(Cli, BrokenModelIsExitTwoNamingTheFile) {
    REQUIRE_MODELS();
    TempDir dir;
    const fs::path model = test_models_dir() / "broken_nan.pt";
    const auto r = run_shell(tool() + " " + quote(sample_photo(1)) + " -o " + quote(dir / "p.png") +
                             " --model " + quote(model));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(model.string()), std::string::npos) << r.err;
}

TEST(Cli, UsageErrorsAreExitTwoAndNameTheFlag) {
    const auto bad_strength = run_shell(tool() + " x.jpg -o y.png --strength 3");
    EXPECT_EQ(bad_strength.exit_code, 2);
    EXPECT_NE(bad_strength.err.find("--strength"), std::string::npos) << bad_strength.err;
    const auto no_output = run_shell(tool() + " x.jpg");
    EXPECT_EQ(no_output.exit_code, 2);
    EXPECT_NE(no_output.err.find("--output"), std::string::npos) << no_output.err;
    const auto unknown = run_shell(tool() + " x.jpg -o y.png --frobnicate");
    EXPECT_EQ(unknown.exit_code, 2);
    const auto bad_batch = run_shell(tool() + " x.jpg -o y.png --batch 0");
    EXPECT_EQ(bad_batch.exit_code, 2);
    EXPECT_NE(bad_batch.err.find("--batch"), std::string::npos) << bad_batch.err;
    const auto help = run_shell(quote(binary()) + " --help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("--target-identity"), std::string::npos);
}

TEST(Cli, PipesBytesThroughStandardStreams) {
    REQUIRE_MODELS();
    TempDir dir;
    const auto r = run_shell("cat " + quote(sample_photo(2)) + " | " + tool() + " - -o - --model " +
                             identity_model() + " > " + quote(dir / "out.png"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(cv::imread((dir / "out.png").string()).size(), cv::Size(1024, 1024));
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1) << "no sidecar unless asked";

    const auto with_sidecar = run_shell("cat " + quote(sample_photo(2)) + " | " + tool() + " - -o - --sidecar " +
                                        quote(dir / "side.json") + " --model " + identity_model() + " > /dev/null");
    ASSERT_EQ(with_sidecar.exit_code, 0) << with_sidecar.err;
    EXPECT_EQ(read_json(dir / "side.json")["input"]["path"], "-");
}

TEST(Cli, FolderRunMirrorsTreeReportsBadFilesAndPrintsNdjson) {
    REQUIRE_MODELS();
    TempDir dir;
    fs::create_directories(dir / "in/family/2019");
    fs::copy_file(sample_photo(1), dir / "in/a.jpg");
    fs::copy_file(sample_photo(3), dir / "in/family/2019/b.jpg");
    write_text(dir / "in/family/broken.jpg", "this is not a jpeg");
    cv::imwrite((dir / "in/family/wall.png").string(), cv::Mat(300, 300, CV_8UC3, cv::Scalar(90, 120, 150)));

    const auto r = run_shell(tool() + " " + quote(dir / "in") + " -o " + quote(dir / "out") + " --model " +
                             identity_model() + " --json");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const auto records = ndjson(r.out);
    ASSERT_EQ(records.size(), 4u) << r.out;
    std::map<std::string, std::string> status;
    for (const json& rec : records) status[fs::path(rec["input"]["path"].get<std::string>()).filename()] = rec["status"];
    EXPECT_EQ(status["a.jpg"], "ok");
    EXPECT_EQ(status["b.jpg"], "ok");
    EXPECT_EQ(status["broken.jpg"], "error");
    EXPECT_EQ(status["wall.png"], "no_face");
    EXPECT_TRUE(fs::exists(dir / "out/a.png"));
    EXPECT_TRUE(fs::exists(dir / "out/family/2019/b.png"));
    EXPECT_TRUE(fs::exists(dir / "out/family/2019/b.json"));
    EXPECT_FALSE(fs::exists(dir / "out/family/wall.png")) << "no image for a photo without a face";
    EXPECT_EQ(read_json(dir / "out/family/wall.json")["status"], "no_face");
    // Each bad file named once on stderr, with its reason.
    for (const char* bad : {"broken.jpg", "wall.png"}) {
        const std::string needle = (dir / "in/family" / bad).string();
        const auto first = r.err.find(needle);
        ASSERT_NE(first, std::string::npos) << r.err;
        EXPECT_EQ(r.err.find(needle, first + 1), std::string::npos) << r.err;
    }
    EXPECT_NE(r.err.find("4 inputs: 2 ok, 1 no face, 1 failed"), std::string::npos) << r.err;

    // -q: nothing on stderr but the errors; --skip-existing: done inputs are not redone.
    const auto again = run_shell(tool() + " " + quote(dir / "in") + " -o " + quote(dir / "out") + " --model " +
                                 identity_model() + " -q --skip-existing");
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_EQ(again.err.find("2 skipped"), std::string::npos) << "quiet run printed its summary: " << again.err;
    EXPECT_NE(again.err.find("broken.jpg"), std::string::npos);
}

TEST(Cli, SkipExistingRedoesWhatOtherSettingsMade) {
    REQUIRE_MODELS();
    TempDir dir;
    fs::create_directory(dir / "in");
    fs::copy_file(sample_photo(1), dir / "in" / "a.jpg");
    const std::string base = tool() + " " + quote(dir / "in") + " -o " + quote(dir / "out") + " --no-identity --model " +
                             quote(test_models_dir() / "strength_blur.pt") + " --skip-existing";
    ASSERT_EQ(run_shell(base + " --strength 0.3").exit_code, 0);
    // Same settings (other thread count and batch size): done, skipped.
    const auto same = run_shell(base + " --strength 0.3 --threads 1 --batch 2");
    EXPECT_EQ(same.exit_code, 0) << same.err;
    EXPECT_NE(same.err.find("1 skipped"), std::string::npos) << same.err;
    // Another strength makes another portrait: redone, not kept.
    const auto other = run_shell(base + " --strength 0.6");
    EXPECT_EQ(other.exit_code, 0) << other.err;
    EXPECT_EQ(other.err.find("skipped"), std::string::npos) << other.err;
    EXPECT_DOUBLE_EQ(read_json(dir / "out" / "a.json")["parameters"]["strength"].get<double>(), 0.6);
    // --min-face is a detector setting like --detect-threshold: another value, redone.
    const auto smaller = run_shell(base + " --strength 0.6 --min-face 24");
    EXPECT_EQ(smaller.exit_code, 0) << smaller.err;
    EXPECT_EQ(smaller.err.find("skipped"), std::string::npos) << smaller.err;
    EXPECT_EQ(read_json(dir / "out" / "a.json")["detector"]["min_face"], 24);
    const auto again = run_shell(base + " --strength 0.6 --min-face 24");
    EXPECT_NE(again.err.find("1 skipped"), std::string::npos) << again.err;
}

TEST(Cli, FacesUnderMinFaceAreNoFaceAndTheErrorSaysTheirSize) {
    REQUIRE_MODELS();
    TempDir dir;
    // sample1 shrunk so that its face is about 25 px.
    const cv::Mat photo = cv::imread(sample_photo(1).string());
    const std::vector<Face> faces = make_yunet_detector(yunet_model().string(), {})->run(photo);
    ASSERT_FALSE(faces.empty());
    cv::Mat small;
    const double k = 25.0 / face_size(faces.front());
    cv::resize(photo, small, cv::Size(), k, k, cv::INTER_AREA);
    cv::imwrite((dir / "small.png").string(), small);
    const std::string base = tool() + " " + quote(dir / "small.png") + " -o " + quote(dir / "p.png") + " --model " + identity_model();
    const auto r = run_shell(base);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("small.png: no face of at least 40 px (largest: 2"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "p.png"));
    const json j = read_json(dir / "p.json");
    EXPECT_EQ(j["status"], "no_face");
    EXPECT_NE(j["error"].get<std::string>().find("no face of at least 40 px (largest: "), std::string::npos) << j;
    const auto allowed = run_shell(base + " --min-face 16");
    EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
    EXPECT_EQ(read_json(dir / "p.json")["detector"]["min_face"], 16);
    EXPECT_EQ(run_shell(base + " --min-face -1").exit_code, 2);
}

TEST(Cli, AllFacesWritesOnePortraitPerFace) {
    REQUIRE_MODELS();
    AIPORTRAIT_REQUIRE_FILE(eval_faces_dir() / "couple.jpg");
    TempDir dir;
    const auto r = run_shell(tool() + " " + quote(eval_faces_dir() / "couple.jpg") + " -o " +
                             quote(dir / "c.png") + " --all-faces --model " + identity_model());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = read_json(dir / "c.json");
    int used = 0;
    for (const json& face : j["faces"]) {
        ASSERT_TRUE(face["used"].get<bool>());
        ++used;
        EXPECT_TRUE(fs::exists(face["output"].get<std::string>()));
    }
    EXPECT_GE(used, 2);
    EXPECT_TRUE(fs::exists(dir / "c_face1.png"));
    EXPECT_TRUE(fs::exists(dir / "c_face2.png"));
}

TEST(Cli, IdentityCommandPrintsDistanceFirst) {
    REQUIRE_MODELS();
    const auto same = run_shell(tool() + " identity " + quote(sample_photo(1)) + " " + quote(sample_photo(1)));
    ASSERT_EQ(same.exit_code, 0) << same.err;
    EXPECT_NEAR(std::stod(same.out), 0.0, 1e-3);
    EXPECT_NE(same.out.find("same"), std::string::npos);
    TempDir dir;
    cv::imwrite((dir / "wall.png").string(), cv::Mat(300, 300, CV_8UC3, cv::Scalar(90, 120, 150)));
    const auto none = run_shell(tool() + " identity " + quote(sample_photo(1)) + " " + quote(dir / "wall.png"));
    EXPECT_EQ(none.exit_code, 1);
    EXPECT_NE(none.err.find("wall.png"), std::string::npos);
}

// ---- Acceptance on the real photos in ../shared/eval/faces -------------------------------------

namespace {

double psnr(const cv::Mat& a, const cv::Mat& b) {
    const double mse = cv::norm(a, b, cv::NORM_L2SQR) / double(a.total() * a.channels());
    return mse == 0 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace

TEST(CliAcceptance, EvalFacesPasteWithIdentityGenerator) {
    REQUIRE_MODELS();
    AIPORTRAIT_REQUIRE_FILE(eval_faces_dir());
    TempDir dir;
    const auto r = run_shell(tool() + " " + quote(eval_faces_dir()) + " -o " + quote(dir / "out") +
                             " --paste --detector yunet --model " + identity_model());
    ASSERT_EQ(r.exit_code, 0) << r.err;

    const CropTemplate tmpl = CropTemplate::ffhq(1024, 0.0);
    int photos = 0, reference = 0, found = 0;
    double worst_psnr = 99;
    for (const auto& entry : fs::directory_iterator(eval_faces_dir())) {
        if (entry.path().extension() != ".jpg") continue;
        ++photos;
        const fs::path out = dir / "out" / entry.path().filename().replace_extension(".png");
        const fs::path side = dir / "out" / entry.path().filename().replace_extension(".json");
        ASSERT_TRUE(fs::exists(out)) << out;
        const json j = read_json(side);
        ASSERT_EQ(j["status"], "ok") << side;
        const DecodedImage input = decode_image(read_input_bytes(entry.path().string()), 0);
        const cv::Mat output = cv::imread(out.string(), cv::IMREAD_COLOR);
        ASSERT_EQ(output.size(), input.bgr.size()) << out;

        // Faces: every reference face has a sidecar face at IoU >= 0.5.
        for (const cv::Rect2f& box : reference_faces(input.bgr, entry.path().filename().string())) {
            ++reference;
            bool matched = false;
            for (const json& face : j["faces"]) {
                const cv::Rect2f b(face["box"]["x"], face["box"]["y"], face["box"]["width"], face["box"]["height"]);
                matched = matched || iou(box, b) >= 0.5f;
            }
            found += matched;
            EXPECT_TRUE(matched) << entry.path().filename() << ": face at " << box << " missing from the sidecar";
        }

        // Outside every face's warped mask the output is the input, bit for bit.
        cv::Mat any_mask(input.bgr.size(), CV_32F, cv::Scalar(0));
        for (const json& face : j["faces"]) {
            const auto& m = face["alignment_matrix"];
            const cv::Matx23d matrix(m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2]);
            cv::Mat warped;
            cv::warpAffine(face_mask(tmpl, j["parameters"]["feather"].get<double>()), warped, invert_affine(matrix),
                           input.bgr.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
            any_mask = cv::max(any_mask, warped);
        }
        cv::Mat diff;
        cv::absdiff(output, input.bgr, diff);
        cv::Mat changed;
        cv::cvtColor(diff, changed, cv::COLOR_BGR2GRAY);
        const int changed_outside = cv::countNonZero((changed > 0) & (any_mask <= 0));
        EXPECT_EQ(changed_outside, 0) << entry.path().filename();
        const double p = psnr(output, input.bgr);
        worst_psnr = std::min(worst_psnr, p);
        EXPECT_GE(p, 35.0) << entry.path().filename();
    }
    std::cout << "eval faces: " << photos << " photos, YuNet reference faces found " << found << "/" << reference
              << ", worst paste PSNR " << worst_psnr << " dB\n";
    EXPECT_GE(photos, 40);
}

TEST(CliAcceptance, EvalFacesBlazeFaceRecall) {
    REQUIRE_MODELS();
    AIPORTRAIT_REQUIRE_FILE(eval_faces_dir());
    TempDir dir;
    const auto r = run_shell(tool() + " " + quote(eval_faces_dir()) + " -o " + quote(dir / "out") +
                             " --detector blazeface --all-faces --no-identity --json --model " +
                             quote(test_models_dir() / "identity_256.pt"));
    EXPECT_LE(r.exit_code, 1) << r.err;
    int reference = 0, found = 0, photos = 0, with_output = 0;
    for (const json& rec : ndjson(r.out)) {
        ++photos;
        EXPECT_EQ(rec["detector"]["name"], "blazeface");
        ASSERT_TRUE(fs::exists(rec["sidecar"].get<std::string>()));
        with_output += rec["status"] == "ok";
        const std::string path = rec["input"]["path"];
        const DecodedImage input = decode_image(read_input_bytes(path), 0);
        for (const cv::Rect2f& box : reference_faces(input.bgr, fs::path(path).filename().string())) {
            ++reference;
            for (const json& face : rec["faces"]) {
                const cv::Rect2f b(face["box"]["x"], face["box"]["y"], face["box"]["width"], face["box"]["height"]);
                if (iou(box, b) >= 0.4f) { ++found; break; }
            }
        }
    }
    const double recall = reference ? double(found) / reference : 0.0;
    std::cout << "BlazeFace on eval faces: " << with_output << "/" << photos << " photos with a portrait, recall "
              << found << "/" << reference << " = " << recall << " of YuNet's faces (score >= 0.8, >= 40 px)\n";
    EXPECT_GE(photos, 40);
    EXPECT_GE(recall, 0.8);
}

TEST(CliAcceptance, PortraitLandmarksLandOnTheTemplate) {
    REQUIRE_MODELS();
    AIPORTRAIT_REQUIRE_FILE(eval_faces_dir());
    TempDir dir;
    const auto r = run_shell(tool() + " " + quote(eval_faces_dir()) + " -o " + quote(dir / "out") +
                             " --no-identity --model " + identity_model());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto yunet = make_yunet_detector(yunet_model().string(), {});
    const Landmarks tmpl = CropTemplate::ffhq(1024, 0.0).pixel_points();
    // Two yardsticks per portrait (mean landmark distance / crop side): to the template, which
    // also holds how far this face's proportions are from the template (a similarity transform
    // cannot remove that), and to where the alignment put this face's own landmarks, which
    // isolates the pipeline's warp from the detector's noise.
    std::vector<double> to_template, to_own;
    for (const auto& entry : fs::directory_iterator(dir / "out")) {
        if (entry.path().extension() != ".png") continue;
        const json face = read_json(fs::path(entry.path()).replace_extension(".json"))["faces"][0];
        const auto& m = face["alignment_matrix"];
        const cv::Matx23d matrix(m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2]);
        const auto found = yunet->run(cv::imread(entry.path().string()));
        ASSERT_FALSE(found.empty()) << entry.path();
        double e_template = 0, e_own = 0;
        for (std::size_t k = 0; k < kNumLandmarks; ++k) {
            const auto& xy = face["landmarks"][kLandmarkNames[k]];
            const cv::Point2f own = apply_affine(matrix, cv::Point2f(xy[0], xy[1]));
            e_template += cv::norm(found[0].landmarks[k] - tmpl[k]) / kNumLandmarks / 1024.0;
            e_own += cv::norm(found[0].landmarks[k] - own) / kNumLandmarks / 1024.0;
        }
        to_template.push_back(e_template);
        to_own.push_back(e_own);
    }
    ASSERT_GE(to_template.size(), 40u);
    auto within = [](const std::vector<double>& v) { return std::count_if(v.begin(), v.end(), [](double e) { return e <= 0.03; }); };
    auto median = [](std::vector<double> v) { std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end()); return v[v.size() / 2]; };
    const double worst_template = *std::max_element(to_template.begin(), to_template.end());
    std::cout << "re-detected portrait landmarks, mean error / crop side: to the template median "
              << median(to_template) * 100 << "%, within 3% " << within(to_template) << "/" << to_template.size()
              << ", worst " << worst_template * 100 << "%; to the face's own aligned landmarks median "
              << median(to_own) * 100 << "%, within 3% " << within(to_own) << "/" << to_own.size() << "\n";
    // YuNet's own landmark noise (~1.5% of the crop, both detections) bounds both yardsticks.
    EXPECT_GE(within(to_own) * 100, static_cast<long>(to_own.size()) * 95);
    EXPECT_LE(median(to_template), 0.02);
    EXPECT_GE(within(to_template) * 100, static_cast<long>(to_template.size()) * 95);
    EXPECT_LE(worst_template, 0.04);
}

TEST(CliAcceptance, StrengthDialAndTargetIdentity) {
    REQUIRE_MODELS();
    AIPORTRAIT_REQUIRE_FILE(eval_faces_dir());
    const std::string model = quote(test_models_dir() / "strength_blur.pt");  // blurs more as strength rises
    // distance[input][strength]
    std::map<std::string, std::map<double, double>> distance;
    std::vector<double> medians;
    const std::vector<double> strengths = {0.0, 0.25, 0.5, 0.75, 1.0};
    for (const double s : strengths) {
        TempDir dir;
        const auto r = run_shell(tool() + " " + quote(eval_faces_dir()) + " -o " + quote(dir / "out") +
                                 " --json --detect-max-side 1024 --strength " + std::to_string(s) + " --model " + model);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        std::vector<double> d;
        for (const json& rec : ndjson(r.out)) {
            const json& face = rec["faces"][0];
            EXPECT_EQ(rec["strength_mode"], "model");
            EXPECT_DOUBLE_EQ(face["strength"].get<double>(), s);
            d.push_back(face["identity_distance"].get<double>());
            distance[rec["input"]["path"]][s] = d.back();
        }
        std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
        medians.push_back(d[d.size() / 2]);
        std::cout << "strength " << s << ": median identity distance " << medians.back() << " over " << d.size() << " faces\n";
    }
    for (std::size_t i = 1; i < medians.size(); ++i) EXPECT_GT(medians[i], medians[i - 1]) << "strength " << strengths[i];

    // --target-identity: within +-0.03 of the target where the face's range allows it.
    const double target = medians[2];
    TempDir dir;
    const auto r = run_shell(tool() + " " + quote(eval_faces_dir()) + " -o " + quote(dir / "out") +
                             " --json --detect-max-side 1024 --target-identity " + std::to_string(target) +
                             " --model " + model);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    int reachable = 0, hit = 0;
    for (const json& rec : ndjson(r.out)) {
        const json& face = rec["faces"][0];
        ASSERT_TRUE(face.contains("strength_evaluations"));
        EXPECT_LE(face["strength_evaluations"].get<int>(), 6);
        const double achieved = face["identity_distance"].get<double>();
        const auto& range = distance[rec["input"]["path"]];
        if (range.at(0.0) <= target && target <= range.at(1.0)) {
            ++reachable;
            hit += std::abs(achieved - target) <= 0.03;
        }
    }
    std::cout << "--target-identity " << target << ": hit within 0.03 on " << hit << "/" << reachable
              << " faces whose range allows it\n";
    ASSERT_GT(reachable, 20);
    EXPECT_GE(hit * 100, reachable * 80);
}

TEST(Cli, ShardRunsTogetherProcessEveryInputOnce) {
    REQUIRE_MODELS();
    TempDir dir;
    fs::create_directories(dir / "in");
    for (int n = 1; n <= 6; ++n) fs::copy_file(sample_photo(n), dir / "in" / ("s" + std::to_string(n) + ".jpg"));
    std::map<std::string, int> processed;
    for (int k = 1; k <= 3; ++k) {
        const auto r = run_shell(tool() + " " + quote(dir / "in") + " -o " + quote(dir / "out") + " --shard " +
                                 std::to_string(k) + "/3 --json --no-identity --model " +
                                 quote(test_models_dir() / "identity_256.pt"));
        ASSERT_EQ(r.exit_code, 0) << r.err;
        for (const json& rec : ndjson(r.out)) ++processed[rec["input"]["path"]];
    }
    EXPECT_EQ(processed.size(), 6u);
    for (const auto& [input, count] : processed) EXPECT_EQ(count, 1) << input;
    // A rerun of everything with --skip-existing finds all done.
    const auto again = run_shell(tool() + " " + quote(dir / "in") + " -o " + quote(dir / "out") +
                                 " --skip-existing --no-identity --model " + quote(test_models_dir() / "identity_256.pt"));
    EXPECT_EQ(again.exit_code, 0);
    EXPECT_NE(again.err.find("6 skipped"), std::string::npos) << again.err;
}

// Acceptance checks: the built binary on the real photos of ../shared/eval/faces (skipped with a
// message where it is absent). CTest label `acceptance`: the slow part of the CLI tests.
#include "aiportrait/align.hpp"
#include "aiportrait/compose.hpp"
#include "aiportrait/decode.hpp"
#include "aiportrait/detect.hpp"

#include "reference_faces.hpp"
#include "cli_testing.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <map>

using namespace aiportrait;
using namespace aiportrait::testing;
using nlohmann::json;


namespace {

double psnr(const cv::Mat& a, const cv::Mat& b) {
    const double mse = cv::norm(a, b, cv::NORM_L2SQR) / double(a.total() * a.channels());
    return mse == 0 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace

TEST(CliAcceptance, EvalFacesPasteWithIdentityGenerator) {
    AIPORTRAIT_REQUIRE_CLI_MODELS();
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
    AIPORTRAIT_REQUIRE_CLI_MODELS();
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
    AIPORTRAIT_REQUIRE_CLI_MODELS();
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
    AIPORTRAIT_REQUIRE_CLI_MODELS();
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


TEST(CliAcceptance, LargeJpegsDecodedAtADctScaleGiveTheFullPhotosFacesAndCrops) {
    // img49 (4352 px) is decoded at half size for detection and its one big face aligned from
    // that; img40 (4600 px) has a 320-px face that needs the whole photo, so it is decoded
    // again. --paste always decodes the whole photo: both runs must find the same faces, and
    // the crops must be what align_face cuts from the full decode.
    AIPORTRAIT_REQUIRE_CLI_MODELS();
    AIPORTRAIT_REQUIRE_FILE(eval_faces_dir() / "img49.jpg");
    AIPORTRAIT_REQUIRE_FILE(eval_faces_dir() / "img40.jpg");
    TempDir dir;
    fs::create_directories(dir / "in");
    for (const char* name : {"img49.jpg", "img40.jpg"}) fs::copy_file(eval_faces_dir() / name, dir / "in" / name);
    const std::string common = " --detector yunet" + fast_model_args();
    ASSERT_EQ(run_shell(tool() + " " + quote(dir / "in") + " -o " + quote(dir / "faces") + " --all-faces" + common).exit_code, 0);
    ASSERT_EQ(run_shell(tool() + " " + quote(dir / "in") + " -o " + quote(dir / "paste") + " --paste" + common).exit_code, 0);
    const CropTemplate tmpl = CropTemplate::ffhq(256, 0.0);
    for (const std::string name : {"img49", "img40"}) {
        const json reduced = read_json(dir / "faces" / (name + ".json"));
        const json full = read_json(dir / "paste" / (name + ".json"));
        const DecodedImage photo = decode_image(read_input_bytes((dir / "in" / (name + ".jpg")).string()), 0);
        EXPECT_EQ(reduced["input"]["width"], photo.bgr.cols) << name;
        EXPECT_EQ(reduced["input"]["height"], photo.bgr.rows) << name;
        ASSERT_EQ(reduced["faces"].size(), full["faces"].size()) << name;
        ASSERT_FALSE(reduced["faces"].empty()) << name;
        for (std::size_t i = 0; i < reduced["faces"].size(); ++i) {
            const json& a = reduced["faces"][i];
            const json& b = full["faces"][i];
            const double side = b["box"]["width"].get<double>();
            for (const char* k : {"x", "y", "width", "height"})
                EXPECT_NEAR(a["box"][k].get<double>(), b["box"][k].get<double>(), 0.03 * side) << name << " " << k;
            // The crop against one cut from the full decode with the reduced run's own landmarks.
            Face face;
            const json& lm = a["landmarks"];
            const char* keys[kNumLandmarks] = {"eye_left", "eye_right", "nose", "mouth_left", "mouth_right"};
            for (std::size_t k = 0; k < kNumLandmarks; ++k)
                face.landmarks[k] = cv::Point2f(lm[keys[k]][0].get<float>(), lm[keys[k]][1].get<float>());
            const AlignedFace expected = align_face(photo.bgr, face, tmpl);
            const cv::Mat crop = cv::imread(a["output"].get<std::string>());
            ASSERT_FALSE(crop.empty()) << a["output"];
            EXPECT_GT(psnr(crop, expected.crop), 30.0) << name << " face " << i + 1;
            for (int r = 0; r < 2; ++r)
                for (int c = 0; c < 2; ++c)
                    EXPECT_NEAR(a["alignment_matrix"][r][c].get<double>(), expected.matrix(r, c), 1e-4) << name;
        }
    }
}

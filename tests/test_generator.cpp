#include "aiportrait/generator.hpp"

#include "model_testing.hpp"
#include "testing.hpp"

using namespace aiportrait;
using namespace aiportrait::testing;

namespace {

std::string error_of(const fs::path& model) {
    try {
        Generator g(model.string());
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

cv::Mat noise(int size) {
    cv::Mat m(size, size, CV_8UC3);
    cv::randu(m, 0, 255);
    return m;
}

}  // namespace

TEST(Generator, IdentityModelLoadsAndReturnsItsInputExactly) {
    const Generator g((test_models_dir() / "identity.pt").string());
    const GeneratorInfo& info = g.info();
    EXPECT_EQ(info.name, "identity");
    EXPECT_EQ(info.input_size, 1024);
    EXPECT_FALSE(info.accepts_strength);
    EXPECT_EQ(info.sha256.size(), 64u);
    EXPECT_NEAR(info.crop.points[kEyeL].x, 192.98 / 512, 1e-6);
    const cv::Mat a = noise(1024), b = noise(1024);
    const auto out = g.run({a, b}, {1.0, 1.0});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(cv::norm(out[0], a, cv::NORM_INF), 0);
    EXPECT_EQ(cv::norm(out[1], b, cv::NORM_INF), 0);
}

TEST(Generator, StrengthIsPassedToModelsThatAcceptIt) {
    const Generator g((test_models_dir() / "strength_blur.pt").string());
    ASSERT_TRUE(g.info().accepts_strength);
    EXPECT_DOUBLE_EQ(g.info().default_strength, 0.5);
    const cv::Mat a = noise(256);
    const auto out = g.run({a, a, a}, {0.0, 0.5, 1.0});
    EXPECT_EQ(cv::norm(out[0], a, cv::NORM_INF), 0);
    const double d_half = cv::norm(out[1], a, cv::NORM_L2), d_full = cv::norm(out[2], a, cv::NORM_L2);
    EXPECT_GT(d_half, 0);
    EXPECT_GT(d_full, d_half);
}

TEST(Generator, BrokenModelsAreClearErrorsNamingTheFile) {
    const struct { const char* file; const char* reason; } cases[] = {
        {"broken_wrong_shape.pt", "shape"},
        {"broken_nan.pt", "NaN"},
        {"broken_range.pt", "range"},
        {"broken_no_metadata.pt", "aiportrait.json"},
    };
    for (const auto& c : cases) {
        const fs::path path = test_models_dir() / c.file;
        const std::string what = error_of(path);
        EXPECT_NE(what.find(path.string()), std::string::npos) << what;
        EXPECT_NE(what.find(c.reason), std::string::npos) << what;
        EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
    }
}

TEST(Generator, MissingAndForeignFilesAreClearErrors) {
    EXPECT_NE(error_of("/nonexistent/gen.pt").find("/nonexistent/gen.pt: generator model not found"), std::string::npos);
    TempDir dir;
    write_text(dir / "foreign.pt", "definitely not a zip archive");
    const std::string what = error_of(dir / "foreign.pt");
    EXPECT_NE(what.find("not a loadable TorchScript"), std::string::npos) << what;
    // A truncated copy of a real model.
    const std::string full = read_text(test_models_dir() / "identity.pt");
    write_text(dir / "truncated.pt", full.substr(0, full.size() / 2));
    EXPECT_NE(error_of(dir / "truncated.pt").find((dir / "truncated.pt").string()), std::string::npos);
}

TEST(Generator, CudaWithoutCudaIsAClearError) {
    if (cuda_available()) GTEST_SKIP() << "this LibTorch has CUDA";
    try {
        Generator g((test_models_dir() / "identity.pt").string(), Device::cuda);
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos);
    }
}

TEST(Generator, DegenerateTemplatesAreRefusedAtLoadNamingTheModel) {
    TempDir dir;
    const struct { const char* name; nlohmann::json points; const char* reason; } cases[] = {
        {"one_point.pt", {{0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}}, "coincide"},
        {"two_eyes_one.pt", {{0.4, 0.45}, {0.4, 0.45}, {0.5, 0.6}, {0.4, 0.7}, {0.6, 0.7}}, "eye"},
        {"on_a_line.pt", {{0.1, 0.5}, {0.3, 0.5}, {0.5, 0.5}, {0.7, 0.5}, {0.9, 0.5}}, "one line"},
    };
    for (const auto& c : cases) {
        const fs::path model = dir / c.name;
        copy_model_with_metadata(test_models_dir() / "identity_256.pt", model,
                                 [&](nlohmann::json& meta) { meta["template"] = c.points; });
        const std::string what = error_of(model);
        EXPECT_NE(what.find(model.string()), std::string::npos) << what;
        EXPECT_NE(what.find("template"), std::string::npos) << what;
        EXPECT_NE(what.find(c.reason), std::string::npos) << what;
    }
    // The committed models' templates (FFHQ's) load as before.
    copy_model_with_metadata(test_models_dir() / "identity_256.pt", dir / "same.pt", [](nlohmann::json&) {});
    EXPECT_EQ(error_of(dir / "same.pt"), "");
}

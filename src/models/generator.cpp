// The one translation unit (with identity.cpp) that includes LibTorch.
#include "aiportrait/generator.hpp"
#include "aiportrait/util.hpp"

#include "aiportrait/hash.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/script.h>

#include <caffe2/serialize/inline_container.h>
#include <torch/version.h>

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <filesystem>
#include <stdexcept>

namespace aiportrait {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& path, const std::string& why) {
    throw std::runtime_error(fmt::format("{}: {}", path, why));
}

// A template the similarity fit can map faces onto: five distinct points, not all on one line.
// A degenerate one loaded fine and then failed every input (the identity net's crop has no size
// between coinciding landmarks), so it is refused at load, naming the model.
void check_template(const std::string& path, const CropTemplate& crop) {
    constexpr double kMinSeparation = 0.01;  // of the crop side: 2.5 px of a 256-px crop
    for (std::size_t i = 0; i < kNumLandmarks; ++i)
        for (std::size_t j = i + 1; j < kNumLandmarks; ++j)
            if (cv::norm(crop.points[i] - crop.points[j]) < kMinSeparation)
                fail(path, fmt::format("aiportrait.json \"template\" is degenerate: {} and {} coincide",
                                       kLandmarkNames[i], kLandmarkNames[j]));
    // The spread across the points' main direction: the smaller singular value of the centred
    // points. Zero when they lie on one line, where no similarity transform is determined well.
    cv::Mat centred(static_cast<int>(kNumLandmarks), 2, CV_64F);
    cv::Point2d mean(0, 0);
    for (const cv::Point2f& p : crop.points) mean += cv::Point2d(p) / static_cast<double>(kNumLandmarks);
    for (std::size_t i = 0; i < kNumLandmarks; ++i) {
        centred.at<double>(static_cast<int>(i), 0) = crop.points[i].x - mean.x;
        centred.at<double>(static_cast<int>(i), 1) = crop.points[i].y - mean.y;
    }
    cv::Mat w;
    cv::SVD::compute(centred, w, cv::SVD::NO_UV);
    if (w.at<double>(1) < kMinSeparation)
        fail(path, "aiportrait.json \"template\" is degenerate: its five points lie (nearly) on one line");
}

GeneratorInfo parse_metadata(const std::string& path, const std::string& text) {
    GeneratorInfo info;
    info.path = path;
    info.metadata_json = text;
    json meta;
    try {
        meta = json::parse(text);
    } catch (const json::exception& e) {
        fail(path, fmt::format("aiportrait.json is not valid JSON: {}", e.what()));
    }
    auto require = [&](const char* key) -> const json& {
        if (!meta.contains(key)) fail(path, fmt::format("aiportrait.json lacks \"{}\"", key));
        return meta.at(key);
    };
    try {
        info.format_version = require("format_version").get<int>();
        if (info.format_version != kGeneratorFormatVersion)
            fail(path, fmt::format("aiportrait.json format_version {} is not supported (this build reads {})",
                                   info.format_version, kGeneratorFormatVersion));
        info.name = require("name").get<std::string>();
        info.version = require("version").get<std::string>();
        info.license = require("license").get<std::string>();
        info.input_size = require("input_size").get<int>();
        if (info.input_size < 32 || info.input_size > 2048)
            fail(path, fmt::format("aiportrait.json input_size {} is outside 32..2048", info.input_size));
        const json& points = require("template");
        if (!points.is_array() || points.size() != kNumLandmarks)
            fail(path, "aiportrait.json \"template\" must be 5 [x, y] points (fractions of the crop)");
        info.crop.size = info.input_size;
        for (std::size_t i = 0; i < kNumLandmarks; ++i) {
            const auto xy = points.at(i).get<std::vector<double>>();
            if (xy.size() != 2 || xy[0] < 0 || xy[0] > 1 || xy[1] < 0 || xy[1] > 1)
                fail(path, "aiportrait.json \"template\" points must be [x, y] within [0, 1]");
            info.crop.points[i] = cv::Point2f(static_cast<float>(xy[0]), static_cast<float>(xy[1]));
        }
        check_template(path, info.crop);
        info.crop.margin = require("margin").get<double>();
        if (info.crop.margin < 0 || info.crop.margin > 2)
            fail(path, "aiportrait.json \"margin\" must be within [0, 2]");
        info.accepts_strength = require("accepts_strength").get<bool>();
        info.default_strength = meta.value("default_strength", info.accepts_strength ? 0.5 : 1.0);
        if (info.default_strength < 0 || info.default_strength > 1)
            fail(path, "aiportrait.json \"default_strength\" must be within [0, 1]");
    } catch (const json::exception& e) {
        fail(path, fmt::format("aiportrait.json has a field of the wrong type: {}", e.what()));
    }
    return info;
}

}  // namespace

struct Generator::Impl {
    GeneratorInfo info;
    mutable torch::jit::Module module;
    torch::Device device = torch::kCPU;

    torch::Tensor forward(const torch::Tensor& x, const std::vector<double>& strengths) const {
        std::vector<torch::jit::IValue> inputs{x};
        if (info.accepts_strength) {
            std::vector<float> s(strengths.begin(), strengths.end());
            inputs.emplace_back(torch::from_blob(s.data(), {static_cast<long>(s.size())}, torch::kFloat32)
                                    .clone()
                                    .to(device));
        }
        torch::jit::IValue out = module.forward(inputs);
        if (!out.isTensor()) throw std::runtime_error("forward() did not return a tensor");
        return out.toTensor();
    }

    // Throws a message without the path; callers add it.
    void check_output(const torch::Tensor& y, long n) const {
        const long s = info.input_size;
        if (y.dim() != 4 || y.size(0) != n || y.size(1) != 3 || y.size(2) != s || y.size(3) != s) {
            throw std::runtime_error(fmt::format("output shape {} is not [{}, 3, {}, {}]",
                                                 fmt::join(y.sizes().vec(), "x"), n, s, s));
        }
        if (y.scalar_type() != torch::kFloat32) throw std::runtime_error("output is not float32");
        if (!torch::isfinite(y).all().item<bool>()) throw std::runtime_error("output contains NaN or infinity");
        const double lo = y.min().item<double>(), hi = y.max().item<double>();
        if (lo < -1.01 || hi > 1.01)
            throw std::runtime_error(fmt::format("output range [{:.3f}, {:.3f}] is outside [-1, 1]", lo, hi));
    }
};

Generator::Generator(const std::string& path, Device device) : impl_(std::make_unique<Impl>()) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        fail(path, "is a folder, not a generator model file (a TorchScript .pt)");
    if (!std::filesystem::exists(path, ec)) fail(path, "generator model not found");
    if (!std::filesystem::is_regular_file(path, ec))
        fail(path, "not a regular file (a pipe or device); not read as a model");
    if (device == Device::cuda) {
        if (!at::hasCUDA()) fail(path, "--device cuda: this LibTorch build has no CUDA device");
        impl_->device = torch::Device(torch::kCUDA);
    }
    torch::jit::ExtraFilesMap extra{{"aiportrait.json", ""}};
    try {
        impl_->module = torch::jit::load(path, impl_->device, extra);
    } catch (const std::exception& e) {
        std::string what = e.what();
        what = first_line(what);
        fail(path, fmt::format("not a loadable TorchScript generator ({})", what));
    }
    if (extra["aiportrait.json"].empty())
        fail(path, "TorchScript archive has no aiportrait.json metadata (see README, Generator contract)");
    GeneratorInfo info = parse_metadata(path, extra["aiportrait.json"]);
    info.sha256 = sha256_file(path);
    impl_->info = info;
    impl_->module.eval();

    // One dummy forward on a smooth ramp proves the contract before any photo is touched.
    try {
        c10::InferenceMode guard;
        const long s = info.input_size;
        torch::Tensor ramp = torch::linspace(-1, 1, s).view({1, 1, 1, s}).expand({1, 3, s, s}).contiguous();
        torch::Tensor y = impl_->forward(ramp.to(impl_->device), {info.default_strength});
        impl_->check_output(y, 1);
    } catch (const std::exception& e) {
        std::string what = e.what();
        what = first_line(what);
        fail(path, fmt::format("test forward failed: {}", what));
    }
}

Generator::~Generator() = default;

const GeneratorInfo& Generator::info() const { return impl_->info; }

std::vector<cv::Mat> Generator::run(const std::vector<cv::Mat>& crops, const std::vector<double>& strengths) const {
    if (crops.empty()) return {};
    if (strengths.size() != crops.size()) throw std::invalid_argument("Generator::run: one strength per crop");
    const long n = static_cast<long>(crops.size());
    const long s = impl_->info.input_size;
    c10::InferenceMode guard;
    torch::Tensor batch = torch::empty({n, s, s, 3}, torch::kUInt8);
    for (long i = 0; i < n; ++i) {
        const cv::Mat& crop = crops[static_cast<std::size_t>(i)];
        if (crop.type() != CV_8UC3 || crop.rows != s || crop.cols != s)
            throw std::invalid_argument("Generator::run: crop size does not match the model");
        cv::Mat rgb(static_cast<int>(s), static_cast<int>(s), CV_8UC3, batch[i].data_ptr<std::uint8_t>());
        cv::cvtColor(crop, rgb, cv::COLOR_BGR2RGB);
    }
    torch::Tensor x = batch.permute({0, 3, 1, 2}).to(torch::kFloat32).div_(127.5).sub_(1.0).contiguous();
    torch::Tensor y;
    try {
        y = impl_->forward(x.to(impl_->device), strengths);
        impl_->check_output(y, n);
    } catch (const std::exception& e) {
        std::string what = e.what();
        throw std::runtime_error(fmt::format("generator {}: {}", impl_->info.path, first_line(what)));
    }
    torch::Tensor bytes = y.to(torch::kCPU)
                              .clamp(-1, 1)
                              .add(1.0)
                              .mul(127.5)
                              .round()
                              .to(torch::kUInt8)
                              .permute({0, 2, 3, 1})
                              .contiguous();
    std::vector<cv::Mat> out;
    out.reserve(crops.size());
    for (long i = 0; i < n; ++i) {
        cv::Mat rgb(static_cast<int>(s), static_cast<int>(s), CV_8UC3, bytes[i].data_ptr<std::uint8_t>());
        cv::Mat bgr;
        cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
        out.push_back(bgr);
    }
    return out;
}

void set_inference_threads(int threads) {
    if (threads > 0) at::set_num_threads(threads);
}

bool cuda_available() { return at::hasCUDA(); }

std::string inference_library_version() { return TORCH_VERSION; }

GeneratorLabel read_generator_label(const std::string& path) {
    try {
        // The archive's records, not the model: no module is built, so this takes milliseconds.
        caffe2::serialize::PyTorchStreamReader reader(path);
        const std::string record = "extra/aiportrait.json";
        if (!reader.hasRecord(record)) throw std::runtime_error("no aiportrait.json inside");
        auto [data, size] = reader.getRecord(record);
        const auto meta = nlohmann::json::parse(std::string(static_cast<const char*>(data.get()), size));
        return {meta.value("name", ""), meta.value("version", "")};
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("{}: {}", path, first_line(e.what())));
    }
}

}  // namespace aiportrait

// Generate stage: a TorchScript portrait generator with its aiportrait.json metadata.
// The contract (README "Generator contract"): forward(x) or forward(x, strength), x float32
// Nx3xSxS RGB in [-1,1], output the same shape and range.
#pragma once

#include "aiportrait/align.hpp"
#include "aiportrait/types.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aiportrait {

inline constexpr int kGeneratorFormatVersion = 1;

struct GeneratorInfo {
    std::string path;
    std::string sha256;
    int format_version = 0;
    std::string name;
    std::string version;
    std::string license;
    int input_size = 0;
    CropTemplate crop;                // template, margin and size the model was trained on
    bool accepts_strength = false;
    double default_strength = 1.0;
    std::string metadata_json;        // the raw aiportrait.json, for provenance

    // The one place that decides how a strength is applied: passed to the model when it accepts
    // one, else the model runs at full strength and the aligned input is blended back in.
    StrengthMode strength_mode() const { return accepts_strength ? StrengthMode::model : StrengthMode::blend; }
    // The strength a run uses: --strength when given, else the model's default.
    double strength_for(const std::optional<double>& asked) const { return asked.value_or(default_strength); }
};

class Generator {
public:
    // Loads, validates metadata and runs one dummy forward. Throws std::runtime_error whose
    // message starts with the path for any problem (missing, not TorchScript, no metadata,
    // wrong output shape/range/NaN), or when asked for CUDA that this LibTorch does not have.
    explicit Generator(const std::string& path, Device device = Device::cpu);
    ~Generator();
    Generator(const Generator&) = delete;
    Generator& operator=(const Generator&) = delete;

    const GeneratorInfo& info() const;

    // Generates one portrait per aligned crop (CV_8UC3 BGR, input_size square); strengths has
    // one value in [0,1] per crop and is ignored by models that do not accept strength.
    // Throws std::runtime_error if the model misbehaves at run time (NaN, wrong shape).
    std::vector<cv::Mat> run(const std::vector<cv::Mat>& crops, const std::vector<double>& strengths) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Sets the intra-op thread count of the inference library (LibTorch defaults to 1 here).
void set_inference_threads(int threads);

// The linked LibTorch's version ("1.13.1").
std::string inference_library_version();

// A generator file's name and version (its aiportrait.json), read from the archive without
// loading the model, for --version. Throws std::runtime_error naming the path.
struct GeneratorLabel {
    std::string name, version;
};
GeneratorLabel read_generator_label(const std::string& path);

// True when the linked LibTorch can run on CUDA.
bool cuda_available();

}  // namespace aiportrait

// Test generators made at test time from the committed ones (tests/models/): the same module
// with its aiportrait.json metadata edited. Needs LibTorch: link the test with ${TORCH_LIBRARIES}.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <filesystem>
#include <functional>

namespace aiportrait::testing {

// Writes `to`: the TorchScript module of `from` with its aiportrait.json changed by `edit`.
inline void copy_model_with_metadata(const std::filesystem::path& from, const std::filesystem::path& to,
                                     const std::function<void(nlohmann::json&)>& edit) {
    torch::jit::ExtraFilesMap extra{{"aiportrait.json", ""}};
    torch::jit::Module module = torch::jit::load(from.string(), torch::kCPU, extra);
    nlohmann::json meta = nlohmann::json::parse(extra["aiportrait.json"]);
    edit(meta);
    extra["aiportrait.json"] = meta.dump(2);
    module.save(to.string(), extra);
}

// Writes `to`: a generator with the metadata of `from` that returns its input unchanged after
// `rounds` passes of busy work over it (a slow generator at will, for tests of what waits).
inline void write_slow_identity_model(const std::filesystem::path& from, const std::filesystem::path& to, int rounds) {
    torch::jit::ExtraFilesMap extra{{"aiportrait.json", ""}};
    torch::jit::load(from.string(), torch::kCPU, extra);
    torch::jit::Module module("SlowIdentity");
    module.define("def forward(self, x):\n"
                  "    y = x\n"
                  "    for i in range(" + std::to_string(rounds) + "):\n"
                  "        y = torch.tanh(y)\n"
                  "    return x + 0.0 * y\n");
    module.save(to.string(), extra);
}

}  // namespace aiportrait::testing

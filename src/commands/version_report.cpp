// `aiportrait --version`: what this installation holds, read without loading any model.
#include "aiportrait/commands.hpp"

#include "aiportrait/generator.hpp"
#include "aiportrait/models.hpp"
#include "aiportrait/version.hpp"

#include <fmt/format.h>
#include <opencv2/core/version.hpp>

#include <filesystem>

namespace fs = std::filesystem;

namespace aiportrait {

std::string version_report(const Config& config) {
    std::string text = fmt::format("aiportrait {}\nLibTorch {}, OpenCV {}\n", kVersion, inference_library_version(),
                                   CV_VERSION);
    const ModelLocations where = locate_models(config.models_dir);
    std::error_code ec;
    if (where.dir.empty() || !fs::is_regular_file(where.default_generator, ec))
        return text + fmt::format("default generator: none installed (looked in: {})\n", fmt::join(where.searched, ", "));
    try {
        const GeneratorLabel label = read_generator_label(where.default_generator);
        return text + fmt::format("default generator: {} {} ({})\n", label.name, label.version, where.default_generator);
    } catch (const std::exception& e) {
        return text + fmt::format("default generator: unreadable ({})\n", e.what());
    }
}

}  // namespace aiportrait

#include "aiportrait/models.hpp"

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace aiportrait {
namespace {

fs::path executable_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : exe.parent_path();
}

ModelLocations in(const fs::path& dir, std::vector<std::string> searched) {
    ModelLocations m;
    m.dir = dir.string();
    m.face_recognition = (dir / "face-api").string();
    m.default_generator = (dir / "generator" / "aiportrait-default.pt").string();
    m.searched = std::move(searched);
    return m;
}

}  // namespace

ModelLocations locate_models(const std::string& explicit_dir) {
    if (!explicit_dir.empty()) return in(explicit_dir, {explicit_dir});
    std::vector<fs::path> candidates;
    if (const char* env = std::getenv("AIPORTRAIT_MODELS_DIR"); env && *env) candidates.emplace_back(env);
    const fs::path exe = executable_dir();
    if (!exe.empty()) {
        candidates.push_back(exe.parent_path() / "weights");                       // build/aiportrait
        candidates.push_back(exe.parent_path() / "share" / "aiportrait" / "weights");  // PREFIX/bin
    }
#ifdef AIPORTRAIT_SOURCE_WEIGHTS_DIR
    candidates.emplace_back(AIPORTRAIT_SOURCE_WEIGHTS_DIR);
#endif
    std::vector<std::string> searched;
    for (const fs::path& c : candidates) {
        searched.push_back(c.string());
        std::error_code ec;
        if (fs::is_directory(c, ec)) return in(c, searched);
    }
    ModelLocations none = in(candidates.empty() ? fs::path("weights") : candidates.front(), searched);
    none.dir.clear();
    return none;
}

}  // namespace aiportrait

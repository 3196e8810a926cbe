// Helpers shared by the tests: where things are, temporary folders, running the real binary.
#pragma once

#include "aiportrait/detectors.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace aiportrait::testing {

namespace fs = std::filesystem;

inline fs::path source_dir() { return AIPORTRAIT_SOURCE_DIR; }
inline fs::path shared_dir() { return source_dir() / ".." / "shared"; }
inline fs::path eval_faces_dir() { return shared_dir() / "eval" / "faces"; }
inline fs::path test_models_dir() { return source_dir() / "tests" / "models"; }
// The built binary, or another one (an installed copy, an older build to show a test fails
// there) named by $AIPORTRAIT_TEST_BINARY.
inline fs::path binary() {
    const char* env = std::getenv("AIPORTRAIT_TEST_BINARY");
    return env && *env ? fs::path(env) : fs::path(AIPORTRAIT_BINARY);
}
inline fs::path models_dir() {
    const char* env = std::getenv("AIPORTRAIT_MODELS_DIR");
    return env && *env ? fs::path(env) : source_dir() / "weights";
}
// Detector models by the detector table's file names (detectors.hpp), so they are named once.
inline fs::path yunet_model() { return models_dir() / detector_entry(DetectorChoice::yunet).model_file; }
inline fs::path blazeface_model() { return models_dir() / detector_entry(DetectorChoice::blazeface).model_file; }
inline fs::path faceapi_dir() { return models_dir() / "face-api"; }
inline fs::path sample_photo(int n) { return source_dir() / "examples" / "photos" / ("sample" + std::to_string(n) + ".jpg"); }

#define AIPORTRAIT_REQUIRE_FILE(path)                                                                   \
    do {                                                                                               \
        if (!std::filesystem::exists(path))                                                            \
            GTEST_SKIP() << "needs " << (path) << " (run scripts/setup.sh; ../shared for eval data)"; \
    } while (0)

// A fresh folder under the system temp dir, removed at scope exit.
class TempDir {
public:
    TempDir() {
        std::random_device rd;
        path_ = fs::temp_directory_path() / ("aiportrait-test-" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

inline void write_text(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// How often `what` occurs in `text` (overlapping matches counted).
inline int count_of(const std::string& text, const std::string& what) {
    int n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

struct CommandResult {
    int exit_code = -1;
    std::string out;  // stdout
    std::string err;  // stderr
};

// Runs a shell command line, capturing stdout and stderr separately.
inline CommandResult run_shell(const std::string& command) {
    TempDir scratch;
    const fs::path out = scratch / "stdout", err = scratch / "stderr";
    const std::string line = "( " + command + " ) >'" + out.string() + "' 2>'" + err.string() + "'";
    const int status = std::system(line.c_str());
    CommandResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_text(out);
    r.err = read_text(err);
    return r;
}

inline std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

// The built binary with the models folder of this tree.
inline std::string tool() {
    return quote(binary()) + " --models-dir " + quote(models_dir());
}

}  // namespace aiportrait::testing

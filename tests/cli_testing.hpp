// Helpers of the tests that run the built binary: its JSON output read back.
#pragma once

#include "testing.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace aiportrait::testing {

// --json output: one record per non-empty line.
inline std::vector<nlohmann::json> ndjson(const std::string& text) {
    std::vector<nlohmann::json> records;
    std::stringstream ss(text);
    for (std::string line; std::getline(ss, line);)
        if (!line.empty()) records.push_back(nlohmann::json::parse(line));
    return records;
}

inline nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(read_text(path)); }

// Starts the binary without a shell in between (so signals reach it), output to files. Signal
// dispositions and the mask are reset: a test runner started as `nohup ... &` ignores SIGINT,
// and the tool rightly keeps to an inherited SIG_IGN, which would make the signal tests fail.
inline pid_t spawn_tool(const std::string& args, const fs::path& out, const fs::path& err) {
    const std::string line = "exec " + tool() + " " + args + " >" + quote(out) + " 2>" + quote(err);
    const char* argv[] = {"/bin/sh", "-c", line.c_str(), nullptr};
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults, empty;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigemptyset(&empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = -1;
    EXPECT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, &attr, const_cast<char**>(argv), environ), 0);
    posix_spawnattr_destroy(&attr);
    return pid;
}

inline int wait_status(pid_t pid) {
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

inline bool wait_for(const std::function<bool()>& condition, double seconds) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

// The small identity generator without the identity net, one thread: for tests about files and
// records, not faces.
inline std::string fast_model_args() {
    return " --no-identity --threads 1 --model " + quote(test_models_dir() / "identity_256.pt");
}

// The tool with fast_model_args(), and what it needs to run.
inline std::string fast() { return tool() + fast_model_args(); }
#define AIPORTRAIT_REQUIRE_FAST_MODELS()    \
    AIPORTRAIT_REQUIRE_FILE(yunet_model()); \
    AIPORTRAIT_REQUIRE_FILE(sample_photo(6))

// DIR/in with the six sample photos in a/ and b/, a picture without a face (flat.png) and a file
// that is not an image (notes.jpg): a folder run over it gives 6 ok, 1 no face, 1 failed.
inline fs::path make_mixed_inputs(const fs::path& dir) {
    const fs::path in = dir / "in";
    for (int i = 1; i <= 6; ++i) {
        fs::create_directories(in / (i % 2 ? "a" : "b"));
        fs::copy_file(sample_photo(i), in / (i % 2 ? "a" : "b") / sample_photo(i).filename());
    }
    cv::imwrite((in / "flat.png").string(), cv::Mat(120, 160, CV_8UC3, cv::Scalar(90, 120, 150)));
    write_text(in / "notes.jpg", "not a picture");
    return in;
}

// The detector and example photos the CLI tests need, and for the identity net its weights.
#define AIPORTRAIT_REQUIRE_CLI_MODELS()       \
    AIPORTRAIT_REQUIRE_FILE(yunet_model());     \
    AIPORTRAIT_REQUIRE_FILE(blazeface_model()); \
    AIPORTRAIT_REQUIRE_FILE(faceapi_dir());     \
    AIPORTRAIT_REQUIRE_FILE(sample_photo(6))

inline std::string identity_model() { return quote(test_models_dir() / "identity.pt"); }

}  // namespace aiportrait::testing

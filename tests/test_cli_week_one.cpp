// What a user hits in the first week (issue #30), each on the real binary: a reader that goes
// away, one --json record per input in input order, limits on threads, models with a bad
// template, messages that say what is wrong.
#include "cli_testing.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

using namespace aiportrait::testing;
using nlohmann::json;

namespace {

std::string fast() { return tool() + fast_model_args(); }

#define REQUIRE_MODELS()                    \
    AIPORTRAIT_REQUIRE_FILE(yunet_model()); \
    AIPORTRAIT_REQUIRE_FILE(sample_photo(6))

// The tool with SIGPIPE at its default action, whatever the test runner inherited, and its exit
// code on stderr as "rc=N" (the reader after it in the pipe decides the pipeline's status).
std::string piped(const std::string& args, const std::string& reader) {
    return "{ env --default-signal=PIPE " + fast() + " " + args + "; echo \"rc=$?\" >&2; } | " + reader;
}

std::vector<std::string> statuses(const std::string& ndjson_text) {
    std::vector<std::string> out;
    for (const json& r : ndjson(ndjson_text)) out.push_back(r["status"]);
    return out;
}

std::vector<std::string> record_names(const std::string& ndjson_text) {
    std::vector<std::string> out;
    for (const json& r : ndjson(ndjson_text)) out.push_back(fs::path(r["input"]["path"].get<std::string>()).filename());
    return out;
}

}  // namespace

TEST(WeekOne, AClosedPipeIsSaidOnceAndTheRunFinishes) {
    REQUIRE_MODELS();
    TempDir dir;
    // The portrait (~80 KB) is more than the pipe holds, so the reader's end is met mid-image.
    const auto image = run_shell(piped(quote(sample_photo(1)) + " -o -", "head -c100 >/dev/null"));
    EXPECT_NE(image.err.find("rc=1"), std::string::npos) << image.err;
    EXPECT_EQ(count_of(image.err, "Broken pipe"), 1) << image.err;
    EXPECT_NE(image.err.find("1 input: 0 ok, 0 no face, 1 failed"), std::string::npos) << image.err;

    // A folder run whose records' reader stops after the first: every input is still done.
    const fs::path in = make_mixed_inputs(dir.path());
    const auto records = run_shell(piped(quote(in) + " -o " + quote(dir / "out") + " --json", "head -n1"));
    EXPECT_EQ(ndjson(records.out).size(), 1u);
    EXPECT_NE(records.err.find("rc=1"), std::string::npos) << records.err;
    EXPECT_EQ(count_of(records.err, "Broken pipe"), 1) << records.err;
    EXPECT_NE(records.err.find("8 inputs: 6 ok, 1 no face, 1 failed"), std::string::npos) << records.err;
    for (const char* sidecar : {"a/sample1.json", "a/sample5.json", "b/sample6.json", "flat.json", "notes.json"})
        EXPECT_TRUE(fs::exists(dir / "out" / sidecar)) << sidecar;
    bool manifest = false;
    for (const auto& e : fs::directory_iterator(dir / "out"))
        manifest |= e.path().filename().string().rfind("aiportrait-run.", 0) == 0;
    EXPECT_TRUE(manifest) << "no run manifest";
}

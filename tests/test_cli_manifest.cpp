// The run manifest (manifest.hpp) on the real binary: one per folder run, every input exactly
// once in run order, the sidecars' settings objects, its own file per run and per shard, and a
// killed run that leaves the earlier manifest whole and none of its own.
#include "cli_testing.hpp"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <set>

using namespace aiportrait::testing;
using nlohmann::json;

namespace {


std::vector<fs::path> manifests(const fs::path& dir) {
    std::vector<fs::path> found;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().filename().string().rfind("aiportrait-run.", 0) == 0) found.push_back(it->path());
    std::sort(found.begin(), found.end());
    return found;
}

std::vector<std::string> input_paths(const json& m) {
    std::vector<std::string> out;
    for (const json& e : m["inputs"]) out.push_back(e["input"]["path"]);
    return out;
}

}  // namespace

TEST(Manifest, FolderRunWritesOneWithEveryInputOnceInRunOrder) {
    AIPORTRAIT_REQUIRE_CLI_MODELS();
    TempDir dir;
    const fs::path in = make_mixed_inputs(dir.path());
    const auto r = run_shell(tool() + " " + quote(in) + " -o " + quote(dir / "out") + fast_model_args() + " --json");
    ASSERT_EQ(r.exit_code, 1) << r.err;  // the flat picture and the text file fail
    const auto found = manifests(dir / "out");
    ASSERT_EQ(found.size(), 1u);
    const json m = read_json(found[0]);
    EXPECT_EQ(m["schema_version"], 1);
    EXPECT_EQ(m["tool"]["name"], "aiportrait");
    EXPECT_EQ(m["command_line"][0], binary().string());
    EXPECT_EQ(m["shard"], nullptr);
    EXPECT_EQ(m["exit_code"], 1);
    EXPECT_EQ(m["counts"]["inputs"], 8);
    EXPECT_EQ(m["counts"]["ok"], 6);
    EXPECT_EQ(m["counts"]["no_face"], 1);
    EXPECT_EQ(m["counts"]["failed"], 1);
    EXPECT_GT(m["timings"]["stage_ms"]["detect"].get<double>(), 0);
    EXPECT_LE(m["started"].get<std::string>(), m["finished"].get<std::string>());

    // The same inputs as the --json records, in the same order, each once.
    const auto records = ndjson(r.out);
    ASSERT_EQ(records.size(), 8u);
    const std::vector<std::string> listed = input_paths(m);
    for (std::size_t i = 0; i < records.size(); ++i) EXPECT_EQ(listed[i], records[i]["input"]["path"]) << i;
    EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()).size(), listed.size());

    // One owner for the settings: the manifest's objects are the sidecars'.
    for (const json& e : m["inputs"]) {
        if (e["status"] != "ok") {
            EXPECT_FALSE(e["error"].get<std::string>().empty());
            continue;
        }
        ASSERT_EQ(e["outputs"].size(), 1u);
        EXPECT_TRUE(fs::is_regular_file(e["outputs"][0]["path"].get<std::string>()));
        const json sidecar = read_json(e["sidecar"]["path"].get<std::string>());
        for (const char* key : {"parameters", "model", "detector", "identity", "tool"}) EXPECT_EQ(sidecar[key], m[key]) << key;
    }
    const auto single = run_shell(tool() + " " + quote(sample_photo(1)) + " -o " + quote(dir / "one" / "p.png") + fast_model_args());
    ASSERT_EQ(single.exit_code, 0) << single.err;
    EXPECT_TRUE(manifests(dir / "one").empty()) << "a single input has its sidecar; no manifest";
}

TEST(Manifest, ResumedRunsAndShardsEachWriteTheirOwn) {
    AIPORTRAIT_REQUIRE_CLI_MODELS();
    TempDir dir;
    const fs::path in = make_mixed_inputs(dir.path());
    const std::string args = quote(in) + " -o " + quote(dir / "out") + fast_model_args();
    for (const char* shard : {" --shard 1/2", " --shard 2/2"})  // 1 where a shard got a failing input
        ASSERT_LE(run_shell(tool() + " " + args + shard).exit_code, 1) << shard;
    auto found = manifests(dir / "out");
    ASSERT_EQ(found.size(), 2u);
    std::multiset<std::string> all;
    for (const fs::path& p : found) {
        const json m = read_json(p);
        EXPECT_NE(p.filename().string().find(fmt::format(".{}-of-2.json", m["shard"]["index"].get<int>())),
                  std::string::npos) << p;
        for (const std::string& s : input_paths(m)) all.insert(s);
    }
    EXPECT_EQ(all.size(), 8u);
    EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 8u) << "shards overlap";

    const std::string before = read_text(found[0]);
    const auto resumed = run_shell(tool() + " " + args + " --skip-existing");
    ASSERT_EQ(resumed.exit_code, 1) << resumed.err;
    found = manifests(dir / "out");
    ASSERT_EQ(found.size(), 3u);
    EXPECT_EQ(read_text(found[0]), before);
    json latest;
    for (const fs::path& p : found)
        if (read_json(p)["shard"].is_null()) latest = read_json(p);
    ASSERT_FALSE(latest.is_null());
    EXPECT_EQ(latest["counts"]["skipped"], 6);
    for (const json& e : latest["inputs"])
        if (e["status"] == "skipped") EXPECT_EQ(e["outputs"].size(), 1u) << e.dump();
}

TEST(Manifest, KilledRunLeavesTheEarlierOneWholeAndNoneOfItsOwn) {
    AIPORTRAIT_REQUIRE_CLI_MODELS();
    TempDir dir;
    const fs::path in = make_mixed_inputs(dir.path());
    for (int copy = 0; copy < 4; ++copy)  // enough inputs that the kill lands mid-run
        for (int i = 1; i <= 6; ++i)
            fs::copy_file(sample_photo(i), in / fmt::format("c{}_{}", copy, sample_photo(i).filename().string()));
    const std::string args = quote(in) + " -o " + quote(dir / "out") + fast_model_args();
    ASSERT_EQ(run_shell(tool() + " " + args).exit_code, 1);
    ASSERT_EQ(manifests(dir / "out").size(), 1u);
    const fs::path earlier = manifests(dir / "out")[0];
    const std::string earlier_text = read_text(earlier);

    fs::remove_all(dir / "out" / "a");  // so the rerun has work before its first new sidecar
    const pid_t pid = spawn_tool(args, dir / "stdout", dir / "stderr");
    ASSERT_TRUE(wait_for([&] { return fs::exists(dir / "out" / "a" / "sample1.json"); }, 60));
    kill(pid, SIGKILL);
    wait_status(pid);
    ASSERT_EQ(manifests(dir / "out"), std::vector<fs::path>{earlier});
    EXPECT_EQ(read_text(earlier), earlier_text);

    // Stopped by SIGTERM instead: a manifest of its own that lists the inputs it never started.
    fs::remove_all(dir / "out" / "a");
    const pid_t stopped = spawn_tool(args, dir / "stdout", dir / "stderr");
    ASSERT_TRUE(wait_for([&] { return fs::exists(dir / "out" / "a" / "sample1.json"); }, 60));
    kill(stopped, SIGTERM);
    const int status = wait_status(stopped);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
    const auto found = manifests(dir / "out");
    ASSERT_EQ(found.size(), 2u);
    const json m = read_json(found[0] == earlier ? found[1] : found[0]);
    EXPECT_EQ(m["signal"], SIGTERM);
    EXPECT_EQ(m["counts"]["inputs"], 32);
    EXPECT_GT(m["counts"]["not_started"].get<int>(), 0);
    const std::vector<std::string> listed = input_paths(m);
    EXPECT_EQ(listed.size(), 32u);
    EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()).size(), 32u);
    EXPECT_EQ(m["inputs"].back()["status"], "not_started");
}

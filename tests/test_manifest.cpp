// The run manifest's text and file names (manifest.hpp), without running the tool.
#include "aiportrait/manifest.hpp"

#include "testing.hpp"

#include <gtest/gtest.h>

using namespace aiportrait;
using namespace aiportrait::testing;
using nlohmann::json;

namespace {

RunManifest sample() {
    RunManifest m;
    m.command_line = {"aiportrait", "in/", "-o", "out/"};
    m.started = std::chrono::system_clock::from_time_t(1796182512);  // 2026-12-02T03:35:12Z
    m.finished = m.started + std::chrono::seconds(5);
    m.run.tool_version = "9.9.9";
    m.run.parameters = {{"kind", "portrait"}};
    m.ok = 1;
    m.failed = 1;
    m.exit_code = 1;
    m.stages.add("detect", 12.34);
    m.inputs = {{"in/a.jpg", "ok", "", {"out/a.png"}, "out/a.json"},
                {"in/caf\xe9.jpg", "error", "not an image", {}, ""}};
    return m;
}

}  // namespace

TEST(Manifest, TextCarriesTheRunAndEveryInput) {
    const json j = manifest_json(sample());
    EXPECT_EQ(j["schema"], "aiportrait.run");
    EXPECT_EQ(j["schema_version"], kManifestSchemaVersion);
    EXPECT_EQ(j["started"], "2026-12-02T03:35:12Z");
    EXPECT_EQ(j["finished"], "2026-12-02T03:35:17Z");
    EXPECT_EQ(j["tool"]["version"], "9.9.9");
    EXPECT_EQ(j["parameters"]["kind"], "portrait");
    EXPECT_EQ(j["shard"], nullptr);
    EXPECT_EQ(j["counts"]["inputs"], 2);
    EXPECT_EQ(j["timings"]["stage_ms"]["detect"], 12.3);
    EXPECT_EQ(j["inputs"][0]["outputs"][0]["path"], "out/a.png");
    EXPECT_EQ(j["inputs"][0]["error"], nullptr);
    // A Latin-1 name keeps its bytes, as in sidecars.
    EXPECT_EQ(j["inputs"][1]["input"]["path_hex"], "696e2f636166e92e6a7067");
    EXPECT_EQ(j["inputs"][1]["sidecar"], nullptr);
}

TEST(Manifest, EveryRunGetsItsOwnFile) {
    TempDir dir;
    RunManifest m = sample();
    const std::string first = write_manifest(dir.path().string(), m);
    const std::string second = write_manifest(dir.path().string(), m);  // same second
    m.shard_index = 2;
    m.shard_count = 3;
    const std::string shard = write_manifest(dir.path().string(), m);
    EXPECT_EQ(fs::path(first).filename(), "aiportrait-run.20261202T033512Z.json");
    EXPECT_EQ(fs::path(second).filename(), "aiportrait-run.20261202T033512Z-2.json");
    EXPECT_EQ(fs::path(shard).filename(), "aiportrait-run.20261202T033512Z.2-of-3.json");
    EXPECT_EQ(json::parse(read_text(shard))["shard"]["count"], 3);
    write_text(dir / "file.txt", "a file, not a folder");
    EXPECT_THROW(write_manifest((dir / "file.txt" / "sub").string(), m), std::runtime_error);
}

#include "aiportrait/manifest.hpp"

#include "aiportrait/output.hpp"

#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <filesystem>

namespace fs = std::filesystem;

namespace aiportrait {
namespace {

using nlohmann::json;

std::string utc(std::chrono::system_clock::time_point t, const char* format) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    char text[32];
    return std::strftime(text, sizeof text, format, &parts) ? text : "";
}

// {"path": ..., "path_hex": ...} as the sidecars store paths (put_path), or null.
json path_object(const std::string& path) {
    if (path.empty()) return nullptr;
    json o = json::object();
    put_path(o, "path", path);
    return o;
}

}  // namespace

std::string utc_iso8601(std::chrono::system_clock::time_point t) { return utc(t, "%Y-%m-%dT%H:%M:%SZ"); }

json manifest_json(const RunManifest& m) {
    json stages = json::object();
    for (const auto& [stage, ms] : m.stages.stages_ms) stages[stage] = std::round(ms * 10.0) / 10.0;
    json inputs = json::array();
    for (const ManifestEntry& e : m.inputs) {
        json outputs = json::array();
        for (const std::string& o : e.outputs) outputs.push_back(path_object(o));
        inputs.push_back({{"input", path_object(e.input)},
                          {"status", e.status},
                          {"error", e.error.empty() ? json(nullptr) : json(e.error)},
                          {"outputs", outputs},
                          {"sidecar", path_object(e.sidecar)}});
    }
    const int total = static_cast<int>(m.inputs.size());
    json manifest{
        {"schema", "aiportrait.run"},
        {"schema_version", kManifestSchemaVersion},
        {"command_line", m.command_line},
        {"started", utc_iso8601(m.started)},
        {"finished", utc_iso8601(m.finished)},
        {"host", host_name()},
        {"shard", m.shard_count > 1 ? json{{"index", m.shard_index}, {"count", m.shard_count}} : json(nullptr)},
        {"counts",
         {{"inputs", total}, {"ok", m.ok}, {"no_face", m.no_face}, {"failed", m.failed}, {"skipped", m.skipped},
          {"not_started", m.not_started}}},
        {"exit_code", m.exit_code},
        {"signal", m.signal ? json(m.signal) : json(nullptr)},
        {"timings", {{"seconds", std::round(m.seconds * 1000.0) / 1000.0}, {"stage_ms", stages}}},
        {"inputs", inputs},
    };
    put_run_info(manifest, m.run);
    return manifest;
}

std::string write_manifest(const std::string& output_dir, const RunManifest& m) {
    std::string stem = kManifestPrefix + utc(m.started, "%Y%m%dT%H%M%SZ");
    if (m.shard_count > 1) stem += fmt::format(".{}-of-{}", m.shard_index, m.shard_count);
    fs::path path = fs::path(output_dir) / (stem + ".json");
    std::error_code ec;
    for (int n = 2; fs::exists(path, ec) || fs::is_symlink(path, ec); ++n)
        path = fs::path(output_dir) / fmt::format("{}-{}.json", stem, n);
    write_file_atomic(path.string(), dump_record(manifest_json(m), 2) + "\n");
    return path.string();
}

}  // namespace aiportrait

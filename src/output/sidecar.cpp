#include "aiportrait/sidecar.hpp"

#include "aiportrait/detect.hpp"
#include "aiportrait/detectors.hpp"
#include "aiportrait/generator.hpp"
#include "aiportrait/identity.hpp"
#include "aiportrait/output.hpp"
#include "aiportrait/version.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>

namespace aiportrait {
namespace {

using nlohmann::json;

// The one spelling of the sidecar's schema name: written by make_record, required by parse_record.
constexpr const char* kSidecarSchema = "aiportrait.sidecar";

// Rounded so sidecars stay readable and diff cleanly; still far below a pixel. Scaled by an
// integer and divided back, so 228.2 prints as 228.2 and not 228.20000000000002.
double round_to(double value, double step) {
    const double per_unit = std::round(1.0 / step);
    return std::round(value * per_unit) / per_unit;
}

// Length of the valid UTF-8 sequence at s[i], or 0 (overlong forms, surrogates and code points
// past U+10FFFF are invalid, as nlohmann::json's dump judges them).
std::size_t utf8_sequence(const std::string& s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((b(i + k) & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogates
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // > U+10FFFF
    return n;
}

bool is_valid_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_sequence(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

// The member `key` of a record's object, or null when it is missing or `object` is no object.
// (A const json's operator[] must not be used for this: on a missing key it is undefined
// behaviour.)
const json& member(const json& object, const char* key) {
    static const json missing;
    if (!object.is_object()) return missing;
    const auto it = object.find(key);
    return it == object.end() ? missing : *it;
}

// A string member, or "" when it is missing, null or of another type.
std::string text(const json& object, const char* key) {
    const json& value = member(object, key);
    return value.is_string() ? value.get<std::string>() : "";
}

json point(const cv::Point2f& p) { return json::array({round_to(p.x, 0.01), round_to(p.y, 0.01)}); }

// A used face's landmarks, alignment matrix, crop size and photo scale into `face`; crop_size
// stays 0 unless every one of them reads as written (finite numbers, a sane scale).
void read_alignment(const json& f, StoredFace& face) {
    const json& landmarks = member(f, "landmarks");
    const json& matrix = member(f, "alignment_matrix");
    const json& size = member(f, "crop_size");
    const json& denom = member(f, "photo_scale_denom");
    const auto finite = [](const json& v) { return v.is_number() && std::isfinite(v.get<double>()); };
    Landmarks points{};
    for (std::size_t i = 0; i < kNumLandmarks; ++i) {
        const json& p = member(landmarks, kLandmarkNames[i]);
        if (!p.is_array() || p.size() != 2 || !finite(p[0]) || !finite(p[1])) return;
        points[i] = cv::Point2f(p[0].get<float>(), p[1].get<float>());
    }
    cv::Matx23d m;
    if (!matrix.is_array() || matrix.size() != 2) return;
    for (int r = 0; r < 2; ++r) {
        if (!matrix[r].is_array() || matrix[r].size() != 3) return;
        for (int c = 0; c < 3; ++c) {
            if (!finite(matrix[r][c])) return;
            m(r, c) = matrix[r][c].get<double>();
        }
    }
    if (!size.is_number_integer() || size.get<long long>() < 1 || size.get<long long>() > 16384) return;
    int scale = 1;
    if (!denom.is_null()) {
        if (!denom.is_number_integer()) return;
        scale = denom.get<int>();
        if (scale != 1 && scale != 2 && scale != 4 && scale != 8) return;
    }
    face.landmarks = points;
    face.alignment = m;
    face.crop_size = size.get<int>();
    face.photo_scale_denom = scale;
}

json face_json(const FaceRecord& f) {
    json landmarks = json::object();
    for (std::size_t i = 0; i < kNumLandmarks; ++i) landmarks[kLandmarkNames[i]] = point(f.face.landmarks[i]);
    json alignment = json::array();
    for (int r = 0; r < 2; ++r) {
        json row = json::array();
        for (int c = 0; c < 3; ++c) row.push_back(round_to(f.alignment(r, c), 1e-6));
        alignment.push_back(row);
    }
    json out = {
        {"score", round_to(f.face.score, 1e-4)},
        {"box", {{"x", round_to(f.face.box.x, 0.01)}, {"y", round_to(f.face.box.y, 0.01)},
                 {"width", round_to(f.face.box.width, 0.01)}, {"height", round_to(f.face.box.height, 0.01)}}},
        {"landmarks", landmarks},
        {"mouth_corners_estimated", f.face.mouth_corners_estimated},
        {"used", f.used},
    };
    if (f.used) {
        out["alignment_matrix"] = alignment;
        out["crop_size"] = f.crop_size;
        out["photo_scale_denom"] = f.photo_scale_denom;
        out["identity_distance"] = f.identity_distance ? json(round_to(*f.identity_distance, 1e-4)) : json(nullptr);
        out["strength"] = f.strength ? json(round_to(*f.strength, 1e-4)) : json(nullptr);
        if (f.strength_evaluations) out["strength_evaluations"] = *f.strength_evaluations;
        if (!f.output_path.empty()) {
            put_path(out, "output", f.output_path);
            out["output_sha256"] = f.output_sha256;
        }
        if (!f.target_reached) out["target_reached"] = false;
    }
    return out;
}

}  // namespace

// `path` under `key`, as valid UTF-8 (each bad byte a U+FFFD), and when that lost something,
// its raw bytes in hex under KEY_hex: lossless, and `xxd -r -p` turns it back into the name.
void put_path(json& object, const std::string& key, const std::string& path) {
    if (is_valid_utf8(path)) {
        object[key] = path;
        return;
    }
    std::string text, hex;
    for (std::size_t i = 0; i < path.size();) {
        const std::size_t n = utf8_sequence(path, i);
        text += n ? path.substr(i, n) : "\xEF\xBF\xBD";
        i += n ? n : 1;
    }
    static const char* digits = "0123456789abcdef";
    for (unsigned char c : path) hex += {digits[c >> 4], digits[c & 15]};
    object[key] = text;
    object[key + "_hex"] = hex;
}

json path_json(const std::string& path) {
    if (path.empty()) return nullptr;
    json holder = json::object();
    put_path(holder, "p", path);
    return holder["p"];
}


RunInfo describe_run(const Config& config, const GeneratorInfo& g, const FaceDetector& detector,
                     const std::string& identity_model_dir, int threads) {
    RunInfo run;
    run.tool_version = kVersion;
    std::error_code ec;
    run.working_directory = std::filesystem::current_path(ec).string();
    run.generator = {{"path", g.path}, {"sha256", g.sha256}, {"name", g.name}, {"version", g.version},
                     {"license", g.license}, {"input_size", g.input_size}, {"margin", g.crop.margin},
                     {"accepts_strength", g.accepts_strength}, {"default_strength", g.default_strength}};
    const DetectorOptions& options = detector.options();
    run.detector = {{"name", detector.name()}, {"model_path", detector.model_path()},
                    {"model_sha256", detector.model_sha256()}, {"score_threshold", options.score_threshold},
                    {"nms_iou", options.nms_iou}, {"max_side", options.max_side},
                    {"min_face", options.min_face}, {"main_face_only", options.main_face_only},
                    {"face_check", nullptr}};
    if (const auto check = detector.face_check())
        run.detector["face_check"] = {{"model_path", check->model_path}, {"model_sha256", check->model_sha256},
                                      {"confirm_score", check->confirm_score}};
    run.identity = identity_model_dir.empty()
                       ? json(nullptr)
                       : json{{"net", "face-api.js face recognition (ResNet-34-like, 128-D)"},
                              {"model_dir", identity_model_dir},
                              {"same_person_below", kSamePersonDistance}};
    run.parameters = {
        {"kind", to_string(config.kind)},
        {"detector", to_string(config.detector)},
        // --target-identity searches each face's own strength (faces[].strength): no one value.
        {"strength", config.target_identity ? json(nullptr) : json(g.strength_for(config.strength))},
        {"target_identity", config.target_identity ? json(*config.target_identity) : json(nullptr)},
        {"identity", config.identity},
        {"feather", config.feather},
        {"grain", config.grain},
        {"device", to_string(config.device)},
        {"batch", generator_batch(config)},
        {"threads", threads},
        {"format", output_format(config.format).name},
    };
    return run;
}

nlohmann::json make_record(const InputRecord& r, const RunInfo& run) {
    json faces = json::array();
    for (const FaceRecord& f : r.faces) faces.push_back(face_json(f));
    json timings = json::object();
    for (const auto& [stage, ms] : r.timings.stages_ms) timings[stage] = round_to(ms, 0.01);
    timings["total"] = round_to(r.timings.total(), 0.01);
    json output = nullptr;
    if (!r.output.empty()) {
        output = {{"kind", to_string(r.kind)}, {"width", r.output_width}, {"height", r.output_height}};
        if (r.kind == OutputKind::all_faces) {
            // One file per face (faces[].output); no file has the main name itself.
            output["path"] = nullptr;
            json paths = json::array();
            for (const std::string& path : written_outputs(r)) paths.push_back(path_json(path));
            output["paths"] = paths;
        } else {
            put_path(output, "path", r.output);
            output["sha256"] = r.output_sha256.empty() ? json(nullptr) : json(r.output_sha256);
        }
    }
    json input = json::object();
    put_path(input, "path", r.input);
    const bool decoded = r.exif_orientation.has_value();
    input["sha256"] = r.input_sha256.empty() ? json(nullptr) : json(r.input_sha256);
    input["width"] = decoded ? json(r.width) : json(nullptr);
    input["height"] = decoded ? json(r.height) : json(nullptr);
    input["exif_orientation"] = decoded ? json(*r.exif_orientation) : json(nullptr);
    input["exif_orientation_applied"] = decoded && *r.exif_orientation != 1;
    input["format"] = r.source_format.empty() ? json(nullptr) : json(r.source_format);
    json record{
        {"schema", kSidecarSchema},
        {"schema_version", kSidecarSchemaVersion},
        {"status", to_string(r.status)},
        {"error", r.error.empty() ? json(nullptr) : json(r.error)},
        {"input", input},
        {"warnings", r.warnings},
        {"output", output},
        {"sidecar", path_json(r.sidecar)},
        {"strength_mode", to_string(r.strength_mode)},
        {"faces", faces},
        {"timings_ms", timings},
    };
    put_run_info(record, run);
    return record;
}

nlohmann::json make_skipped_record(const InputRecord& r, const std::vector<std::string>& outputs, const RunInfo& run) {
    json record = make_record(r, run);
    json output = {{"kind", to_string(r.kind)}};
    if (r.kind == OutputKind::all_faces) {
        output["path"] = nullptr;
        json paths = json::array();
        for (const std::string& o : outputs) paths.push_back(path_json(o));
        output["paths"] = paths;
    } else if (!outputs.empty()) {
        put_path(output, "path", outputs.front());
    }
    record["output"] = output;
    return record;
}

void put_run_info(nlohmann::json& object, const RunInfo& run) {
    object["tool"] = {{"name", "aiportrait"}, {"version", run.tool_version}};
    // Paths are recorded as given (relative to where the run started): this makes them findable
    // from anywhere (the gallery, a person in another folder).
    if (!run.working_directory.empty()) put_path(object, "working_directory", run.working_directory);
    object["model"] = run.generator;
    object["detector"] = run.detector;
    object["identity"] = run.identity;
    object["parameters"] = run.parameters;
}

std::string dump_record(const nlohmann::json& record, int indent) {
    return record.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string recorded_path(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) return "";
    const auto hex = object.find(std::string(key) + "_hex");
    if (hex != object.end() && hex->is_string()) {
        const std::string h = hex->get<std::string>();
        std::string raw;
        for (std::size_t i = 0; i + 1 < h.size(); i += 2) raw += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
        return raw;
    }
    const auto plain = object.find(key);
    return plain != object.end() && plain->is_string() ? plain->get<std::string>() : "";
}

std::vector<std::string> written_outputs(const InputRecord& r) {
    std::vector<std::string> out;
    if (!r.output.empty() && r.kind != OutputKind::all_faces) out.push_back(r.output);
    for (const FaceRecord& f : r.faces)
        if (!f.output_path.empty()) out.push_back(f.output_path);
    return out;
}

std::optional<StoredRecord> parse_record(const nlohmann::json& record) {
    if (text(record, "schema") != kSidecarSchema) return std::nullopt;  // a manifest, another tool's
    StoredRecord r;
    if (const std::string status = text(record, "status"); !status.empty()) r.status = status;
    r.error = text(record, "error");
    const json& input = member(record, "input");
    r.input = recorded_path(input);
    r.input_sha256 = text(input, "sha256");
    r.working_directory = recorded_path(record, "working_directory");
    const json& output = member(record, "output");
    if (const std::string kind = text(output, "kind"); !kind.empty()) r.kind = kind;
    r.output = recorded_path(output);
    r.output_sha256 = text(output, "sha256");
    static const json no_faces = json::array();
    const json& faces = member(record, "faces");
    for (const json& f : faces.is_array() ? faces : no_faces) {  // two lvalues: no copy
        StoredFace face;
        face.used = member(f, "used").is_boolean() && member(f, "used").get<bool>();
        if (member(f, "identity_distance").is_number()) face.identity_distance = member(f, "identity_distance").get<double>();
        if (member(f, "strength").is_number()) face.strength = member(f, "strength").get<double>();
        face.output = recorded_path(f, "output");
        face.output_sha256 = text(f, "output_sha256");
        read_alignment(f, face);
        r.faces.push_back(std::move(face));
    }
    const json& model = member(record, "model");
    r.model_name = text(model, "name");
    r.model_version = text(model, "version");
    r.model_sha256 = text(model, "sha256");
    r.detector = member(record, "detector");
    r.parameters = member(record, "parameters");
    if (r.kind == "all_faces") {
        for (const StoredFace& f : r.faces)
            if (!f.output.empty()) r.outputs.push_back({f.output, f.output_sha256, true});
    } else if (!r.output.empty()) {
        r.outputs.push_back({r.output, r.output_sha256, false});
    }
    return r;
}

std::optional<StoredRecord> read_record(const std::string& path) {
    std::error_code ec;
    if (path.empty() || !std::filesystem::is_regular_file(path, ec) ||
        std::filesystem::file_size(path, ec) > (16u << 20))
        return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    const json record = json::parse(in, nullptr, false);
    return record.is_discarded() ? std::nullopt : parse_record(record);
}

std::optional<StoredRecord> record_naming(const std::string& image) {
    const std::filesystem::path path(image);
    std::vector<std::filesystem::path> sidecars{std::filesystem::path(path).replace_extension(".json")};
    if (const std::string owner = face_output_owner(path.stem().string()); !owner.empty())
        sidecars.push_back(path.parent_path() / (owner + ".json"));
    for (const std::filesystem::path& sidecar : sidecars) {
        std::optional<StoredRecord> record = read_record(sidecar.string());
        if (!record) continue;
        for (const RecordedOutput& o : record->outputs)
            if (std::filesystem::path(o.path).filename() == path.filename()) return record;
    }
    return std::nullopt;
}

std::string resolve_recorded(const StoredRecord& record, const std::string& path) {
    const std::string& wd = record.working_directory;
    if (path.empty() || wd.empty() || std::filesystem::path(path).is_absolute()) return path;
    return (std::filesystem::path(wd) / path).lexically_normal().string();
}

std::vector<RecordedOutput> outputs_if_done(const StoredRecord& record, const RunInfo& run,
                                            const std::string& input_sha256) {
    if (record.status != "ok") return {};
    auto without = [](json j, std::initializer_list<const char*> keys) {
        if (!j.is_object()) return json();
        for (const char* k : keys) j.erase(k);
        return j;
    };
    // The detector's settings and its models by content: where the files lie does not matter.
    auto detector_settings = [&](const json& detector) {
        json j = without(detector, {"model_path"});
        if (j.contains("face_check")) j["face_check"] = without(j["face_check"], {"model_path"});
        return j;
    };
    const bool same = record.model_sha256 == text(run.generator, "sha256") &&
                      detector_settings(record.detector) == detector_settings(run.detector) &&
                      without(record.parameters, {"threads", "batch"}) == without(run.parameters, {"threads", "batch"});
    // Made from these bytes: a photo edited since, or a new file that took an earlier one's
    // collision name, is done again.
    if (!same || record.input_sha256 != input_sha256) return {};
    return record.outputs;
}

}  // namespace aiportrait

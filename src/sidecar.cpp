#include "aiportrait/sidecar.hpp"

#include <cmath>

namespace aiportrait {
namespace {

using nlohmann::json;

// Rounded so sidecars stay readable and diff cleanly; still far below a pixel.
double round_to(double value, double step) { return std::round(value / step) * step; }

json point(const cv::Point2f& p) { return json::array({round_to(p.x, 0.01), round_to(p.y, 0.01)}); }

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
        out["identity_distance"] = f.identity_distance ? json(round_to(*f.identity_distance, 1e-4)) : json(nullptr);
        out["strength"] = f.strength ? json(round_to(*f.strength, 1e-4)) : json(nullptr);
        if (f.strength_evaluations) out["strength_evaluations"] = *f.strength_evaluations;
        if (!f.output_path.empty()) out["output"] = f.output_path;
    }
    return out;
}

}  // namespace

nlohmann::json make_record(const InputRecord& r, const RunInfo& run) {
    json faces = json::array();
    for (const FaceRecord& f : r.faces) faces.push_back(face_json(f));
    json timings = json::object();
    for (const auto& [stage, ms] : r.timings.stages_ms) timings[stage] = round_to(ms, 0.01);
    timings["total"] = round_to(r.timings.total(), 0.01);
    json output = nullptr;
    if (!r.output.empty()) {
        output = {{"path", r.output}, {"kind", to_string(r.kind)}, {"width", r.output_width}, {"height", r.output_height}};
    }
    return json{
        {"schema", "aiportrait.sidecar"},
        {"schema_version", kSidecarSchemaVersion},
        {"tool", {{"name", "aiportrait"}, {"version", run.tool_version}}},
        {"status", to_string(r.status)},
        {"error", r.error.empty() ? json(nullptr) : json(r.error)},
        {"input", {{"path", r.input}, {"sha256", r.input_sha256.empty() ? json(nullptr) : json(r.input_sha256)},
                   {"width", r.width}, {"height", r.height}, {"exif_orientation", r.exif_orientation},
                   {"exif_orientation_applied", r.exif_orientation != 1},
                   {"format", r.source_format}}},
        {"warnings", r.warnings},
        {"output", output},
        {"sidecar", r.sidecar.empty() ? json(nullptr) : json(r.sidecar)},
        {"model", run.generator},
        {"detector", run.detector},
        {"identity", run.identity},
        {"parameters", run.parameters},
        {"strength_mode", to_string(r.strength_mode)},
        {"faces", faces},
        {"timings_ms", timings},
    };
}

}  // namespace aiportrait

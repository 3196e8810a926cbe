#include "aiportrait/types.hpp"

namespace aiportrait {

const char* to_string(Status s) {
    switch (s) {
        case Status::ok: return "ok";
        case Status::no_face: return "no_face";
        case Status::error: return "error";
        case Status::skipped: return "skipped";
        case Status::not_started: return "not_started";
    }
    return "error";
}

const char* to_string(OutputKind k) {
    switch (k) {
        case OutputKind::portrait: return "portrait";
        case OutputKind::all_faces: return "all_faces";
        case OutputKind::paste: return "paste";
    }
    return "portrait";
}

const char* to_string(Device d) { return d == Device::cuda ? "cuda" : "cpu"; }

const char* to_string(StrengthMode m) { return m == StrengthMode::model ? "model" : "blend"; }

void Timings::add(const std::string& stage, double ms) {
    for (auto& entry : stages_ms) {
        if (entry.first == stage) {
            entry.second += ms;
            return;
        }
    }
    stages_ms.emplace_back(stage, ms);
}

double Timings::total() const {
    double sum = 0;
    for (const auto& entry : stages_ms) sum += entry.second;
    return sum;
}

}  // namespace aiportrait

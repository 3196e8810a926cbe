// --skip-existing and the clearing of an earlier run's outputs: what is on disk beside a job's
// output, judged by its sidecar (sidecar.cpp says what a record means).
#include "resume.hpp"

#include "aiportrait/hash.hpp"
#include "aiportrait/output.hpp"

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;

namespace aiportrait {
namespace {

// Whether a file a record names is one this job writes: its output, or (--all-faces) one of
// its NAME_faceN files beside it (face_output_path).
bool is_output_of(const Job& job, const RecordedOutput& o) {
    if (o.path == job.output) return true;
    const fs::path p(o.path), out(job.output);
    return o.per_face && p.parent_path() == out.parent_path() && face_output_owner(p.stem().string()) == out.stem().string();
}

// Whether a file a record names carries the job's name: NAME.EXT in the output's folder with any
// image extension, or NAME_faceN.EXT.
bool has_job_name(const Job& job, const RecordedOutput& o) {
    const fs::path p(o.path), out(job.output);
    if (p.parent_path() != out.parent_path() || !has_image_extension(o.path)) return false;
    const std::string stem = p.stem().string(), name = out.stem().string();
    return stem == name || face_output_owner(stem) == name;
}

}  // namespace

std::vector<std::string> completed_before(const Job& job, const RunInfo& run, const std::string& input_sha256) {
    if (job.output == "-") return {};
    const std::optional<StoredRecord> record = read_record(job.sidecar);
    if (!record) return {};
    const std::vector<RecordedOutput> outputs = outputs_if_done(*record, run, input_sha256);
    std::vector<std::string> paths;
    // Every file the record names is this job's, byte for byte as written: not a killed run's
    // image beside an earlier run's sidecar, nor a file changed since.
    for (const RecordedOutput& o : outputs) {
        std::error_code ec;
        if (!is_output_of(job, o) || !fs::is_regular_file(o.path, ec) || sha256_file(o.path) != o.sha256) return {};
        paths.push_back(o.path);
    }
    return paths;
}

std::vector<RecordedOutput> earlier_outputs(const Job& job) {
    std::vector<RecordedOutput> out;
    if (job.output == "-" || job.sidecar.empty()) return out;
    const std::optional<StoredRecord> record = read_record(job.sidecar);
    if (!record) return out;
    for (const RecordedOutput& o : record->outputs)
        if (is_output_of(job, o) || has_job_name(job, o)) out.push_back(o);
    return out;
}

void remove_replaced_outputs(const Job& job, const std::vector<RecordedOutput>& earlier,
                             const std::vector<std::string>& written) {
    for (const RecordedOutput& o : earlier) {
        if (std::find(written.begin(), written.end(), o.path) != written.end()) continue;
        std::error_code ec;
        if (!fs::is_regular_file(o.path, ec)) continue;
        if (is_output_of(job, o) || (!o.sha256.empty() && sha256_file(o.path) == o.sha256)) fs::remove(o.path, ec);
    }
}

void remove_earlier_outputs(const Job& job) { remove_replaced_outputs(job, earlier_outputs(job), {}); }

}  // namespace aiportrait

// Sidecar stage: the JSON record of what happened to one input. The same record is written
// beside the output and printed by --json (one line per input).
#pragma once

#include "aiportrait/config.hpp"
#include "aiportrait/types.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace aiportrait {

inline constexpr int kSidecarSchemaVersion = 2;

// Facts that hold for every input of a run: tool, models, parameters.
struct RunInfo {
    std::string tool_version;
    std::string working_directory;  // absolute: what the records' relative paths are relative to
    nlohmann::json generator;   // path, sha256, name, version, license, input_size, ...
    nlohmann::json detector;    // name, model path, model sha256, threshold, ...
    nlohmann::json identity;    // net name, model files, or null when identity is off
    nlohmann::json parameters;  // every option that shaped the result
};

struct InputRecord {
    std::string input;            // path, or "-" for standard input
    std::string input_sha256;
    int width = 0, height = 0;    // after EXIF orientation
    std::optional<int> exif_orientation;  // empty = never decoded
    std::string source_format;            // empty = never decoded
    std::vector<std::string> warnings;
    std::string output;           // main output ("-" = stdout); empty when nothing was written
    std::string output_sha256;    // of the main output's bytes, so a resume can tell it is this one
    std::string sidecar;
    OutputKind kind = OutputKind::portrait;
    int output_width = 0, output_height = 0;
    StrengthMode strength_mode = StrengthMode::model;
    std::vector<FaceRecord> faces;
    Timings timings;
    Status status = Status::error;
    std::string error;            // one line, empty when ok
};

struct GeneratorInfo;
class FaceDetector;

// The run's facts as every record (and the run manifest) carries them: the one place that names
// these keys. `identity_model_dir` is empty when the identity net is off; `threads` as used.
RunInfo describe_run(const Config& config, const GeneratorInfo& generator, const FaceDetector& detector,
                     const std::string& identity_model_dir, int threads);

nlohmann::json make_record(const InputRecord& record, const RunInfo& run);

// The --json record of an input --skip-existing found done (`record.status` skipped): its input
// as read now, and `outputs`, the images found as the earlier run wrote them (its sidecar has
// the rest). Such a record has no sidecar of its own: the earlier one stays.
nlohmann::json make_skipped_record(const InputRecord& record, const std::vector<std::string>& outputs,
                                   const RunInfo& run);

// The run's facts under the keys every record and the run manifest use: tool, model (the
// generator), detector, identity, parameters.
void put_run_info(nlohmann::json& object, const RunInfo& run);

// A record as text. File names need not be UTF-8 (old Latin-1 archives): make_record stores
// such a path as valid UTF-8 (bad bytes as U+FFFD) plus its raw bytes in hex ("path_hex"), and
// any other invalid byte (e.g. in an error line quoting a path) is replaced, so this never throws.
std::string dump_record(const nlohmann::json& record, int indent = -1);

// An image a record says it wrote, with the sha256 of its bytes.
struct RecordedOutput {
    std::string path;
    std::string sha256;
    bool per_face = false;  // one of --all-faces' files
};

// The images `record` says were written, in the order the sidecar lists them: the main output,
// or (--all-faces) each face's own file. What the sidecar, the run manifest and the clearing of
// an earlier run's leftovers all mean by "this input's outputs".
std::vector<std::string> written_outputs(const InputRecord& record);

// A face of a sidecar read back.
struct StoredFace {
    bool used = false;
    std::optional<double> identity_distance, strength;
    std::string output, output_sha256;  // this face's own image (--all-faces); empty when none
    // Where its crop came from, for used faces of records that hold it all (else crop_size 0):
    // landmarks and alignment_matrix in the photo's coordinates, and photo_scale_denom
    // (absent before it was recorded: 1).
    Landmarks landmarks{};
    cv::Matx23d alignment = cv::Matx23d::zeros();
    int crop_size = 0;
    int photo_scale_denom = 1;
};

// A sidecar read back (read_record): every field its readers (--skip-existing, the clearing of
// earlier outputs, the folder walk, the gallery) use, typed. Lenient, since older versions,
// failed inputs and hand edits leave sparse records: a missing, null or wrong-typed field reads
// as empty (status as "error", kind as "portrait"); paths come back as their raw bytes.
struct StoredRecord {
    std::string status = "error";
    std::string error;
    std::string input, input_sha256;
    std::string working_directory;  // absolute; empty in records of versions before it
    std::string kind = "portrait";  // output.kind
    std::string output, output_sha256;  // the main output (not --all-faces); empty when none
    std::vector<StoredFace> faces;
    std::string model_name, model_version, model_sha256;
    // Compared whole with this run's (outputs_if_done), so kept as written.
    nlohmann::json detector, parameters;
    // The images the record names: the main output, or for --all-faces each face's file.
    std::vector<RecordedOutput> outputs;
};

// `record` as a sidecar, or nothing when it is not one (another schema: a run manifest, another
// tool's JSON).
std::optional<StoredRecord> parse_record(const nlohmann::json& record);
// The sidecar at `path`, or nothing when it is missing, not a regular file, larger than any
// sidecar (16 MiB), not JSON or not a sidecar.
std::optional<StoredRecord> read_record(const std::string& path);
// The record of the sidecar beside `image` that names it as one of its outputs (NAME.png beside
// NAME.json, NAME_face2.png beside NAME.json), matched by file name as recorded paths depend on
// the folder the run started in; nothing when there is none.
std::optional<StoredRecord> record_naming(const std::string& image);

// The images of a record that shows its input done as this run would do it: status ok, from
// these bytes (`input_sha256`), with the same generator (by sha256), detector settings and
// parameters (model paths, threads and batch size aside: they do not change what is made).
// Empty otherwise. The caller still checks the files are there as written.
std::vector<RecordedOutput> outputs_if_done(const StoredRecord& record, const RunInfo& run,
                                            const std::string& input_sha256);

// `path` under `key` as valid UTF-8 (each bad byte a U+FFFD) and, when that lost something, its
// raw bytes in hex under KEY_hex: lossless (`xxd -r -p` turns it back into the name). Every
// path in a sidecar or run manifest is stored this way.
void put_path(nlohmann::json& object, const std::string& key, const std::string& path);
// A lone path as JSON text, null when empty. Lossy for names that are not UTF-8 (bad bytes
// become U+FFFD): where the name must survive, use put_path.
nlohmann::json path_json(const std::string& path);

// The path a record's path field names: its raw bytes when the record carries "path_hex".
std::string recorded_path(const nlohmann::json& object, const char* key = "path");

// A path a record names (e.g. its input), made absolute against the record's working_directory
// when it is relative, so it is found from any folder; unchanged when the record has none
// (records of versions before it).
std::string resolve_recorded(const StoredRecord& record, const std::string& path);

}  // namespace aiportrait

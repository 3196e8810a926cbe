// What each pipeline stage does to one input (or one batch of inputs). pipeline.cpp decides
// which thread runs which stage.
#include "pipeline_impl.hpp"

#include "aiportrait/align.hpp"
#include "aiportrait/util.hpp"
#include "aiportrait/hash.hpp"
#include "aiportrait/output.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace aiportrait {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Runs `fn`, adding its wall time to `timings` under `stage`.
template <typename Fn>
auto timed(Timings& timings, const char* stage, Fn&& fn) {
    const auto start = Clock::now();
    if constexpr (std::is_void_v<decltype(fn())>) {
        fn();
        timings.add(stage, ms_since(start));
    } else {
        auto result = fn();
        timings.add(stage, ms_since(start));
        return result;
    }
}

// NAME.png -> NAME_face3.png (1-based), for --all-faces.
std::string face_output_path(const std::string& output, std::size_t index) {
    fs::path p(output);
    const std::string ext = p.extension().string();
    return (p.parent_path() / fmt::format("{}_face{}{}", p.stem().string(), index + 1, ext)).string();
}

std::string first_line(const std::exception& e) { return aiportrait::first_line(e.what()); }

// A batched model call failed: every input that was in it fails with the same reason.
void fail_batch(const std::vector<Work*>& batch, const std::exception& e) {
    for (Work* w : batch) {
        if (!w->ready_to_generate) continue;
        w->ready_to_generate = false;
        w->record.status = Status::error;
        w->record.error = first_line(e);
    }
}

// One call served `faces` faces of several inputs: charge each input its share of `ms`.
void charge_share(const std::vector<Work*>& batch, const char* stage, double ms, std::size_t faces) {
    const double per_face = ms / static_cast<double>(faces);
    for (Work* w : batch)
        if (!w->faces.empty()) w->record.timings.add(stage, per_face * static_cast<double>(w->faces.size()));
}

}  // namespace

namespace {

// The sidecar at `path` as JSON (discarded when missing or unparsable).
nlohmann::json read_sidecar(const std::string& path) {
    std::error_code ec;
    if (path.empty() || !fs::is_regular_file(path, ec)) return nlohmann::json::value_t::discarded;
    std::ifstream in(path);
    return nlohmann::json::parse(in, nullptr, false);
}

// Whether a file a record names is one this job writes: its output, or (--all-faces) one of
// its NAME_faceN files beside it (face_output_path).
bool is_output_of(const Job& job, const RecordedOutput& o) {
    if (o.path == job.output) return true;
    const fs::path p(o.path), out(job.output);
    return o.per_face && p.parent_path() == out.parent_path() &&
           p.filename().string().rfind(out.stem().string() + "_face", 0) == 0;
}

}  // namespace

bool completed_before(const Job& job, const RunInfo& run, const std::string& input_sha256) {
    if (job.output == "-") return false;
    const std::vector<RecordedOutput> outputs = outputs_if_done(read_sidecar(job.sidecar), run, input_sha256);
    if (outputs.empty()) return false;
    // Every file the record names is this job's, byte for byte as written: not a killed run's
    // image beside an earlier run's sidecar, nor a file changed since.
    for (const RecordedOutput& o : outputs) {
        std::error_code ec;
        if (!is_output_of(job, o) || !fs::is_regular_file(o.path, ec) || sha256_file(o.path) != o.sha256) return false;
    }
    return true;
}

namespace {

// Before a failed input's sidecar replaces an earlier run's: that run's images go too, so no
// portrait sits beside a record that says there is none. Only this job's files are removed.
void remove_earlier_outputs(const Job& job) {
    for (const RecordedOutput& o : recorded_outputs(read_sidecar(job.sidecar))) {
        std::error_code ec;
        if (is_output_of(job, o)) fs::remove(o.path, ec);
    }
}

}  // namespace

void Pipeline::Impl::prepare(Work& work) const {
    InputRecord& record = work.record;
    record.input = work.job.input;
    record.kind = config.kind;
    record.strength_mode = generator->info().accepts_strength ? StrengthMode::model : StrengthMode::blend;
    try {
        const auto bytes = timed(record.timings, "read",
                                 [&] { return read_input_bytes(work.job.input, max_file_bytes(config.max_pixels)); });
        record.input_sha256 = timed(record.timings, "hash", [&] { return sha256_hex(bytes.data(), bytes.size()); });
        if (config.skip_existing && completed_before(work.job, run_info, record.input_sha256)) {
            work.skipped = true;
            return;
        }
        work.image = timed(record.timings, "decode", [&] { return decode_image(bytes, config.max_pixels); });
        record.width = work.image.bgr.cols;
        record.height = work.image.bgr.rows;
        record.exif_orientation = work.image.exif_orientation;
        record.source_format = work.image.source_format;
        record.warnings = work.image.warnings;
        // Detection and crops see the photo as shown (transparent pixels on white), so portraits
        // never depend on the colour hidden under transparency.
        work.visible = composite_on_white(work.image.bgr, work.image.alpha);

        const Detection found = timed(record.timings, "detect", [&] { return detector->detect(work.visible); });
        for (const Face& f : found.faces) {
            FaceRecord r;
            r.face = f;
            record.faces.push_back(r);
        }
        if (found.faces.empty()) {
            record.status = Status::no_face;
            record.error = no_face_message(found, config.min_face);
            return;
        }
        // Faces come most prominent first: a portrait uses that one, the other kinds use all.
        for (std::size_t i = 0; i < record.faces.size(); ++i) {
            record.faces[i].used = config.kind != OutputKind::portrait || i == 0;
            if (record.faces[i].used) work.used.push_back(i);
        }
        timed(record.timings, "align", [&] {
            for (std::size_t i : work.used) {
                GeneratedFace f;
                f.landmarks = record.faces[i].face.landmarks;
                f.aligned = align_face(work.visible, record.faces[i].face, generator->info().crop);
                record.faces[i].alignment = f.aligned.matrix;
                record.faces[i].crop_size = f.aligned.size;
                work.faces.push_back(std::move(f));
            }
        });
        // Only --paste needs the photo after this; dropping it here keeps what waits in the
        // queues down to crops, so memory does not follow the size of the photos in flight.
        if (config.kind != OutputKind::paste) {
            work.image.bgr.release();
            work.image.alpha.release();
            work.visible.release();
        }
        work.ready_to_generate = true;
    } catch (const std::exception& e) {
        record.status = Status::error;
        record.error = first_line(e);
    }
}

void Pipeline::Impl::generate(const std::vector<Work*>& batch) const {
    if (config.target_identity) {
        for (Work* w : batch)
            if (w->ready_to_generate) search_strength(*w);
        return;
    }
    // Models without a strength input run at full strength; finish() blends the aligned input
    // back in ((1 - s) * input + s * generated) before paste-back.
    const GeneratorInfo& g = generator->info();
    const double strength = config.strength.value_or(g.default_strength);
    std::vector<cv::Mat> crops;
    std::vector<Work*> owners;
    for (Work* w : batch) {
        if (!w->ready_to_generate) continue;
        for (const GeneratedFace& f : w->faces) {
            crops.push_back(f.aligned.crop);
            owners.push_back(w);
        }
    }
    if (crops.empty()) return;
    const auto start = Clock::now();
    try {
        const std::vector<cv::Mat> out =
            generator->run(crops, std::vector<double>(crops.size(), g.accepts_strength ? strength : 1.0));
        std::size_t k = 0;
        for (Work* w : batch) {
            if (!w->ready_to_generate) continue;
            for (std::size_t j = 0; j < w->faces.size(); ++j, ++k) {
                w->faces[j].generated = g.accepts_strength ? out[k] : blend_with_input(crops[k], out[k], strength);
                w->record.faces[w->used[j]].strength = strength;
            }
        }
    } catch (const std::exception& e) {
        fail_batch(batch, e);
    }
    charge_share(batch, "generate", ms_since(start), crops.size());

    // Identity distances here, on the generator's thread, in one batch: LibTorch's OpenMP pool
    // spins while it waits, so two threads running torch at once slow each other down badly.
    if (!identity || !config.identity) return;
    std::vector<const GeneratedFace*> faces;
    std::vector<cv::Mat> finals;
    for (Work* w : batch) {
        if (!w->ready_to_generate) continue;
        for (const GeneratedFace& f : w->faces) {
            faces.push_back(&f);
            finals.push_back(f.generated);
        }
    }
    if (faces.empty()) return;
    const auto identity_start = Clock::now();
    try {
        const std::vector<double> d = distances(faces, finals);
        std::size_t k = 0;
        for (Work* w : batch) {
            if (!w->ready_to_generate) continue;
            for (std::size_t j = 0; j < w->faces.size(); ++j) w->record.faces[w->used[j]].identity_distance = d[k++];
        }
    } catch (const std::exception& e) {
        fail_batch(batch, e);
    }
    charge_share(batch, "identity", ms_since(identity_start), faces.size());
}

std::vector<double> Pipeline::Impl::distances(const std::vector<const GeneratedFace*>& faces,
                                              const std::vector<cv::Mat>& finals) const {
    // Both crops live in the aligned frame, so the input's landmarks mapped through the
    // alignment matrix locate the face in each; the net sees them prepared identically.
    std::vector<cv::Mat> crops;
    for (std::size_t i = 0; i < faces.size(); ++i) {
        Landmarks in_crop;
        for (std::size_t k = 0; k < kNumLandmarks; ++k)
            in_crop[k] = apply_affine(faces[i]->aligned.matrix, faces[i]->landmarks[k]);
        crops.push_back(IdentityNet::prepare_crop(faces[i]->aligned.crop, in_crop));
        crops.push_back(IdentityNet::prepare_crop(finals[i], in_crop));
    }
    const std::vector<Descriptor> d = identity->run(crops);
    std::vector<double> out;
    for (std::size_t i = 0; i < faces.size(); ++i) out.push_back(descriptor_distance(d[2 * i], d[2 * i + 1]));
    return out;
}

// --target-identity: searches each face's strength so that its identity distance lands near
// the target, all faces of the photo advancing together in one batch per round.
// Regula falsi (Illinois) on distance(strength) - target, which rises with strength for a
// sensible model: start at 1 (most different) and 0, keep the closest seen.
void Pipeline::Impl::search_strength(Work& work) const {
    InputRecord& record = work.record;
    std::vector<GeneratedFace>& out = work.faces;
    const bool by_model = generator->info().accepts_strength;
    std::vector<cv::Mat> crops, full;
    for (const GeneratedFace& f : out) crops.push_back(f.aligned.crop);
    auto render = [&](const std::vector<std::size_t>& which, const std::vector<double>& strengths) {
        std::vector<cv::Mat> result;
        if (by_model) {
            std::vector<cv::Mat> batch;
            for (std::size_t j : which) batch.push_back(crops[j]);
            return timed(record.timings, "generate", [&] { return generator->run(batch, strengths); });
        }
        if (full.empty())
            full = timed(record.timings, "generate",
                         [&] { return generator->run(crops, std::vector<double>(crops.size(), 1.0)); });
        for (std::size_t k = 0; k < which.size(); ++k)
            result.push_back(blend_with_input(crops[which[k]], full[which[k]], strengths[k]));
        return result;
    };

    const double target = *config.target_identity, tolerance = 0.03;
    const int budget = 6;
    struct Search {
        double lo = 0, hi = 1, d_lo = NAN, d_hi = NAN, best_s = 1, best_d = NAN;
        int evals = 0;
        bool done = false;
        int side = 0;  // Illinois: which end was kept last time
    };
    std::vector<Search> search(out.size());
    try {
        for (int round = 0; round < budget; ++round) {
            std::vector<std::size_t> active;
            std::vector<double> strengths;
            for (std::size_t j = 0; j < out.size(); ++j) {
                Search& s = search[j];
                if (s.done) continue;
                double next;
                if (s.evals == 0) next = 1.0;
                else if (s.evals == 1) next = 0.0;
                else if (s.d_hi != s.d_lo) next = s.lo + (target - s.d_lo) * (s.hi - s.lo) / (s.d_hi - s.d_lo);
                else next = 0.5 * (s.lo + s.hi);
                next = std::clamp(next, std::min(s.lo, s.hi), std::max(s.lo, s.hi));
                active.push_back(j);
                strengths.push_back(next);
            }
            if (active.empty()) break;
            const std::vector<cv::Mat> finals = render(active, strengths);
            std::vector<const GeneratedFace*> probe;
            for (std::size_t j : active) probe.push_back(&out[j]);
            const auto d = timed(record.timings, "identity", [&] { return distances(probe, finals); });
            for (std::size_t k = 0; k < active.size(); ++k) {
                Search& s = search[active[k]];
                const double st = strengths[k], dist = d[k];
                ++s.evals;
                if (std::isnan(s.best_d) || std::abs(dist - target) < std::abs(s.best_d - target)) {
                    s.best_d = dist;
                    s.best_s = st;
                    out[active[k]].generated = finals[k];
                }
                if (std::abs(dist - target) <= tolerance) { s.done = true; continue; }
                if (s.evals == 1) {
                    s.hi = st; s.d_hi = dist;
                    if (dist < target) s.done = true;  // even full strength stays closer: best reachable
                    continue;
                }
                if (s.evals == 2) {
                    s.lo = st; s.d_lo = dist;
                    if (dist > target) s.done = true;  // even strength 0 is farther: best reachable
                    continue;
                }
                if (dist < target) {
                    s.lo = st; s.d_lo = dist;
                    if (s.side == -1) s.d_hi = target + (s.d_hi - target) / 2;
                    s.side = -1;
                } else {
                    s.hi = st; s.d_hi = dist;
                    if (s.side == 1) s.d_lo = target + (s.d_lo - target) / 2;
                    s.side = 1;
                }
            }
        }
    } catch (const std::exception& e) {
        work.ready_to_generate = false;
        record.status = Status::error;
        record.error = first_line(e);
        return;
    }
    for (std::size_t j = 0; j < out.size(); ++j) {
        FaceRecord& f = record.faces[work.used[j]];
        f.strength = search[j].best_s;
        f.identity_distance = search[j].best_d;
        f.strength_evaluations = search[j].evals;
        f.target_reached = std::abs(search[j].best_d - target) <= tolerance;
        if (!f.target_reached)
            record.warnings.push_back(fmt::format(
                "face {}: --target-identity {} is out of reach; closest {:.3f} at strength {:.2f}", work.used[j] + 1,
                target, search[j].best_d, search[j].best_s));
    }
}

void Pipeline::Impl::write_outputs(Work& work) const {
    InputRecord& record = work.record;
    const Job& job = work.job;
    auto emit = [&](const std::string& path, const cv::Mat& bgr, const cv::Mat& alpha) {
        const auto bytes = timed(record.timings, "encode", [&] { return encode_image(bgr, alpha, path); });
        timed(record.timings, "write", [&] {
            if (path == "-") write_stdout(bytes);
            else write_file_atomic(path, bytes);
        });
        return sha256_hex(bytes.data(), bytes.size());
    };
    const int size = work.faces.front().aligned.size;
    switch (config.kind) {
        case OutputKind::portrait:
            record.output_sha256 = emit(job.output, work.faces.front().generated, cv::Mat());
            record.output_width = record.output_height = size;
            break;
        case OutputKind::all_faces:
            for (std::size_t j = 0; j < work.used.size(); ++j) {
                const std::string path = face_output_path(job.output, work.used[j]);
                record.faces[work.used[j]].output_sha256 = emit(path, work.faces[j].generated, cv::Mat());
                record.faces[work.used[j]].output_path = path;
            }
            record.output_width = record.output_height = size;
            break;
        case OutputKind::paste: {
            // --paste keeps the photo's own colours and alpha when the format can carry alpha,
            // and writes the visible photo when it cannot (JPEG).
            const bool with_alpha = !work.image.alpha.empty() && keeps_alpha(job.output);
            const cv::Mat pasted = timed(record.timings, "compose", [&] {
                return paste_faces(with_alpha ? work.image.bgr : work.visible, work.faces, generator->info().crop,
                                   config.feather);
            });
            record.output_sha256 = emit(job.output, pasted, with_alpha ? work.image.alpha : cv::Mat());
            record.output_width = pasted.cols;
            record.output_height = pasted.rows;
            break;
        }
    }
    record.output = job.output;
}

void Pipeline::Impl::write_sidecar(const Job& job, InputRecord& record) const {
    if (job.sidecar.empty()) return;
    record.sidecar = job.sidecar;
    if (record.status != Status::ok) remove_earlier_outputs(job);
    write_file_atomic(job.sidecar, dump_record(make_record(record, run_info), 2) + "\n");
}

void Pipeline::Impl::finish(Work& work) const {
    InputRecord& record = work.record;
    if (work.ready_to_generate) {
        try {
            write_outputs(work);
            record.status = Status::ok;
        } catch (const std::exception& e) {
            record.status = Status::error;
            record.error = first_line(e);
        }
    }
    try {
        write_sidecar(work.job, record);
    } catch (const std::exception& e) {
        if (record.status == Status::ok) {
            // The portrait without its sidecar would look done to --skip-existing: retract it.
            std::error_code ec;
            if (record.output != "-") fs::remove(record.output, ec);
            for (const FaceRecord& f : record.faces)
                if (!f.output_path.empty()) fs::remove(f.output_path, ec);
            record.output.clear();
        }
        record.status = Status::error;
        record.error = first_line(e);
    }
    // The decoded photo and crops are no longer needed; the record travels on.
    work.image = DecodedImage();
    work.visible.release();
    work.faces.clear();
}

}  // namespace aiportrait

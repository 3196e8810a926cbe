// What each pipeline stage does to one input (or one batch of inputs). pipeline.cpp decides
// which thread runs which stage.
#include "stages.hpp"

#include "aiportrait/align.hpp"
#include "aiportrait/hash.hpp"
#include "aiportrait/output.hpp"
#include "aiportrait/strength_search.hpp"
#include "aiportrait/util.hpp"
#include "resume.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

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

void Pipeline::Impl::prepare(Work& work) const {
    InputRecord& record = work.record;
    record.input = work.job.input;
    record.kind = config.kind;
    record.strength_mode = generator->info().strength_mode();
    try {
        const auto bytes = timed(record.timings, "read",
                                 [&] { return read_input_bytes(work.job.input, max_file_bytes(config.max_pixels)); });
        record.input_sha256 = timed(record.timings, "hash", [&] { return sha256_hex(bytes.data(), bytes.size()); });
        if (config.skip_existing) {
            work.found_outputs = completed_before(work.job, run_info, record.input_sha256);
            if (!work.found_outputs.empty()) {
                work.skipped = true;
                return;
            }
        }
        // A JPEG is decoded at the smallest DCT scale that still gives the detector its finest
        // view (--detect-max-side); the crops need more only for faces small in a large photo,
        // and then the photo is decoded again below. --paste needs the whole photo.
        const int denom = config.kind == OutputKind::paste
                              ? 1 : jpeg_scale_denom(peek_header(bytes), config.detect_max_side);
        work.image = timed(record.timings, "decode", [&] { return decode_image(bytes, config.max_pixels, denom); });
        record.width = work.image.photo_size.width;
        record.height = work.image.photo_size.height;
        record.exif_orientation = work.image.exif_orientation;
        record.source_format = work.image.source_format;
        record.warnings = work.image.warnings;
        // Detection and crops see the photo as shown (transparent pixels on white), so portraits
        // never depend on the colour hidden under transparency.
        work.visible = composite_on_white(work.image.bgr, work.image.alpha);

        const int decoded_denom = work.image.scale_denom;
        const Detection found = timed(record.timings, "detect",
                                      [&] { return detector->detect(work.visible, decoded_denom); });
        const cv::Matx23d to_photo = reduced_to_photo(decoded_denom);
        for (const Face& f : found.faces) {
            FaceRecord r;
            r.face = decoded_denom == 1 ? f : map_face(f, to_photo);
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
        const CropTemplate& crop = generator->info().crop;
        int align_denom = decoded_denom;
        for (std::size_t i : work.used) align_denom = std::min(align_denom, max_align_denom(record.faces[i].face, crop));
        if (align_denom < decoded_denom) {
            work.image = timed(record.timings, "decode",
                               [&] { return decode_image(bytes, config.max_pixels, align_denom); });
            work.visible = composite_on_white(work.image.bgr, work.image.alpha);
        }
        timed(record.timings, "align", [&] {
            for (std::size_t i : work.used) {
                GeneratedFace f;
                f.landmarks = record.faces[i].face.landmarks;
                f.aligned = align_face_reduced(work.visible, align_denom, record.faces[i].face, crop);
                record.faces[i].alignment = f.aligned.matrix;
                record.faces[i].crop_size = f.aligned.size;
                record.faces[i].photo_scale_denom = align_denom;
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
    // Models without a strength input run at full strength, and the aligned input is blended
    // back in ((1 - s) * input + s * generated) right here, below, before finish() pastes back.
    const GeneratorInfo& g = generator->info();
    const double strength = g.strength_for(config.strength);
    const bool by_model = g.strength_mode() == StrengthMode::model;
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
            generator->run(crops, std::vector<double>(crops.size(), by_model ? strength : 1.0));
        std::size_t k = 0;
        for (Work* w : batch) {
            if (!w->ready_to_generate) continue;
            for (std::size_t j = 0; j < w->faces.size(); ++j, ++k) {
                w->faces[j].generated =
                    keep_grey(crops[k], by_model ? out[k] : blend_with_input(crops[k], out[k], strength));
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

// --target-identity: each face's strength searched (strength_search.hpp), all faces of the photo
// advancing together in one batch per round; the best portrait of each face is kept.
void Pipeline::Impl::search_strength(Work& work) const {
    InputRecord& record = work.record;
    std::vector<GeneratedFace>& out = work.faces;
    const bool by_model = generator->info().strength_mode() == StrengthMode::model;
    std::vector<cv::Mat> crops, full;
    for (const GeneratedFace& f : out) crops.push_back(f.aligned.crop);
    std::vector<std::vector<cv::Mat>> tried(out.size());  // per face, in probe order
    const DistanceProbe probe = [&](const std::vector<std::size_t>& which, const std::vector<double>& strengths) {
        std::vector<cv::Mat> finals;
        if (by_model) {
            std::vector<cv::Mat> batch;
            for (std::size_t j : which) batch.push_back(crops[j]);
            finals = timed(record.timings, "generate", [&] { return generator->run(batch, strengths); });
        } else {
            // A model without a strength input runs once at full strength; strengths blend.
            if (full.empty())
                full = timed(record.timings, "generate",
                             [&] { return generator->run(crops, std::vector<double>(crops.size(), 1.0)); });
            for (std::size_t k = 0; k < which.size(); ++k)
                finals.push_back(blend_with_input(crops[which[k]], full[which[k]], strengths[k]));
        }
        for (std::size_t k = 0; k < which.size(); ++k) finals[k] = keep_grey(crops[which[k]], finals[k]);
        std::vector<const GeneratedFace*> faces;
        for (std::size_t k = 0; k < which.size(); ++k) {
            faces.push_back(&out[which[k]]);
            tried[which[k]].push_back(finals[k]);
        }
        return timed(record.timings, "identity", [&] { return distances(faces, finals); });
    };
    const double target = *config.target_identity;
    std::vector<StrengthSearchResult> found;
    try {
        found = search_strengths(out.size(), target, probe);
    } catch (const std::exception& e) {
        work.ready_to_generate = false;
        record.status = Status::error;
        record.error = first_line(e);
        return;
    }
    for (std::size_t j = 0; j < out.size(); ++j) {
        const StrengthSearchResult& r = found[j];
        out[j].generated = tried[j][static_cast<std::size_t>(r.best_evaluation)];
        FaceRecord& f = record.faces[work.used[j]];
        f.strength = r.strength;
        f.identity_distance = r.distance;
        f.strength_evaluations = r.evaluations;
        f.target_reached = r.reached;
        if (!r.reached)
            record.warnings.push_back(fmt::format(
                "face {}: --target-identity {} is out of reach; closest {:.3f} at strength {:.2f}", work.used[j] + 1,
                target, r.distance, r.strength));
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
                                   config.feather, config.grain);
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
    // What an earlier run wrote under this name, read before this run's sidecar replaces its
    // record: what this run does not write again goes once the new sidecar is in place.
    const std::vector<RecordedOutput> earlier = earlier_outputs(work.job);
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
        record.sidecar.clear();  // none was written: the record must not name one
        if (record.status != Status::ok) {
            // The input had failed already (say, its image on a full disk): that stays the error
            // its line names; the sidecar's failure comes second.
            record.error += fmt::format(" (and its sidecar: {})", first_line(e));
        } else {
            // The portrait without its sidecar would look done to --skip-existing: retract it.
            std::error_code ec;
            if (record.output != "-") fs::remove(record.output, ec);
            for (FaceRecord& f : record.faces) {
                if (!f.output_path.empty()) fs::remove(f.output_path, ec);
                f.output_path.clear();
                f.output_sha256.clear();
            }
            record.output.clear();
            record.status = Status::error;
            record.error = first_line(e);
        }
    }
    if (record.status == Status::ok && !record.sidecar.empty()) {
        remove_replaced_outputs(work.job, earlier, written_outputs(record));
    }
    // The decoded photo and crops are no longer needed; the record travels on.
    work.image = DecodedImage();
    work.visible.release();
    work.faces.clear();
}

}  // namespace aiportrait

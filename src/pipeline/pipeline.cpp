// Runs the stages on threads joined by bounded queues, and sums the run up. What each stage
// does is stages.cpp; what is set up before is setup.cpp.
#include "aiportrait/pipeline.hpp"

#include "aiportrait/bounded_queue.hpp"
#include "aiportrait/gallery.hpp"
#include "aiportrait/manifest.hpp"
#include "aiportrait/output.hpp"
#include "stages.hpp"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <set>
#include <thread>

#include <time.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace aiportrait {

using Clock = std::chrono::steady_clock;

namespace {

// When this process started, on the steady clock: the summary's time includes what happens
// before main() (loading LibTorch's and OpenCV's libraries, ~0.5 s) as README promises. From
// /proc/self/stat's start time (clock ticks after boot) and CLOCK_BOOTTIME; now if unreadable.
Clock::time_point process_start() {
    const Clock::time_point now = Clock::now();
    std::ifstream stat("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const std::size_t comm_end = text.rfind(')');  // the command name may hold spaces
    timespec boot{};
    const long ticks = sysconf(_SC_CLK_TCK);
    if (comm_end == std::string::npos || ticks <= 0 || clock_gettime(CLOCK_BOOTTIME, &boot) != 0) return now;
    std::istringstream fields(text.substr(comm_end + 2));
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i) {}  // field 22: starttime
    if (!fields) return now;
    const double started = std::stod(field) / static_cast<double>(ticks);
    const double since = static_cast<double>(boot.tv_sec) + boot.tv_nsec * 1e-9 - started;
    if (since < 0 || since > 3600) return now;  // not believable: keep to what is known
    return now - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(since));
}

// The manifest's line for an input that went through the stages.
ManifestEntry entry_of(const Work& work) {
    ManifestEntry e;
    e.input = work.job.input;
    if (work.skipped) {
        e.status = "skipped";
        e.outputs = work.found_outputs;
        e.sidecar = work.job.sidecar;
        return e;
    }
    const InputRecord& r = work.record;
    e.status = to_string(r.status);
    e.error = r.error;
    e.outputs = written_outputs(r);
    e.sidecar = r.sidecar;
    return e;
}

}  // namespace

int RunSummary::exit_code() const {
    if (signal != 0) return 128 + signal;
    return (failed > 0 || no_face > 0 || nothing_found || records_lost || manifest_lost || gallery_lost) ? 1 : 0;
}

std::string RunSummary::line() const {
    const int inputs = ok + no_face + failed + skipped + not_started;
    std::string text = fmt::format("{} input{}: {} ok, {} no face, {} failed", inputs, inputs == 1 ? "" : "s", ok,
                                   no_face, failed);
    if (skipped) text += fmt::format(", {} skipped (already done)", skipped);
    if (signal) {
        text += fmt::format(", {} not started (stopped by signal {})", not_started, signal);
        // Read and prepared, but only waiting between stages when the signal came.
        if (dropped) text += fmt::format(" of which {} read but dropped unfinished", dropped);
    }
    // The rate of portraits made (faces, not inputs: --all-faces makes several of one photo),
    // over the whole run from the process's start; a run that made none has no rate to print.
    text += fmt::format(" in {:.1f} s", seconds);
    if (seconds > 0 && portraits > 0)
        text += fmt::format(" ({} portrait{}, {:.2f}/s)", portraits, portraits == 1 ? "" : "s", portraits / seconds);
    if (records_lost) text += "; --json records lost (standard output failed)";
    if (manifest_lost) text += "; run manifest not written";
    if (gallery_lost) text += "; gallery not written";
    return text;
}

void Pipeline::Impl::report_outcome(const Work& work, RunSummary& summary) const {
    const InputRecord& record = work.record;
    const std::string& input = work.job.input;
    std::string warnings;
    for (const std::string& w : record.warnings) warnings += (warnings.empty() ? "" : "; ") + w;
    const std::string also = warnings.empty() ? "" : " (also: " + warnings + ")";
    switch (record.status) {
        case Status::ok:
            ++summary.ok;
            for (const FaceRecord& f : record.faces) summary.portraits += f.used;
            // A portrait made from a damaged file: say what the decoder recovered from.
            if (!warnings.empty()) reporter.warning(fmt::format("{}: {}", input == "-" ? "<stdin>" : input, warnings));
            break;
        case Status::no_face: ++summary.no_face; reporter.error(input, record.error + also); break;
        case Status::error: ++summary.failed; reporter.error(input, record.error + also); break;
        case Status::skipped:
        case Status::not_started: break;  // counted where they are decided (run)
    }
}

Pipeline::Pipeline(const Config& config, Reporter& reporter)
    : impl_(std::make_unique<Impl>(config, reporter)), created_(process_start()) {
    impl_->load_models();
}

Pipeline::~Pipeline() = default;

RunSummary Pipeline::run(const Discovery& discovery, const StopCheck& stop_requested) {
    Impl& p = *impl_;
    RunSummary summary;
    RunManifest manifest;
    manifest.started = std::chrono::system_clock::now();
    const std::size_t total = discovery.jobs.size();
    const int inputs = static_cast<int>(total + discovery.rejected.size());
    const std::size_t batch = static_cast<std::size_t>(generator_batch(p.config));
    if (discovery.nothing_found) {
        // An empty folder (or one of unsupported files only) is not success: nothing was made.
        summary.nothing_found = true;
        const std::string where =
            p.config.inputs.empty() ? "the --files-from list" : fmt::format("{}", fmt::join(p.config.inputs, ", "));
        p.reporter.error("", fmt::format("no images to make portraits of in {}", where));
    }

    // Every input gets exactly one --json record and one manifest entry, in input order, and
    // the progress bar counts the same inputs as the summary.
    int reported = 0;
    auto emit = [&](const nlohmann::json& record, ManifestEntry entry) {
        p.reporter.record(record);
        manifest.inputs.push_back(std::move(entry));
        p.reporter.progress(++reported, inputs);
    };
    // Refused before reading (missing, not a regular file, would overwrite an input): an error
    // line and a record each, at their place among the jobs. No sidecar: there is no output for
    // one to sit beside.
    std::size_t next_rejected = 0;
    auto emit_rejected_before = [&](std::size_t job) {
        while (next_rejected < discovery.rejected.size() && discovery.rejected[next_rejected].before_job <= job) {
            const RejectedInput& r = discovery.rejected[next_rejected++];
            p.reporter.error(r.input, r.reason);
            ++summary.failed;
            InputRecord record;
            record.input = r.input;
            record.kind = p.config.kind;
            record.error = r.reason;
            emit(make_record(record, p.run_info), {r.input, "error", r.reason, {}, ""});
        }
    };

    // Three stages on three threads, joined by bounded queues so the generator is never starved
    // and memory stays flat: prepare (read/decode/detect/align) -> generate (batched across
    // inputs, then the identity distances on the same thread) -> finish (compose, encode, write). One thread per stage keeps records in
    // input order.
    BoundedQueue<std::unique_ptr<Work>> prepared(2 * batch), generated(2 * batch);

    // A stop signal ends the run at once: no new input is taken, what a stage is working on is
    // finished, and what only waits in a queue is dropped (a record saying not_started each).
    const auto stopping = [&] { return stop_requested && stop_requested() != 0; };
    std::thread preparer([&] {
        std::set<std::string> cleaned;
        for (std::size_t i = 0; i < total; ++i) {
            if (stopping()) break;  // stop taking inputs
            auto work = std::make_unique<Work>();
            work->job = discovery.jobs[i];
            if (work->job.output != "-") {
                // A run killed before may have left temporaries beside its outputs.
                const std::string dir = fs::path(work->job.output).parent_path().string();
                if (!dir.empty() && cleaned.insert(dir).second) remove_stale_temporaries(dir);
            }
            p.prepare(*work);  // with --skip-existing, it may find the input done
            work->carry_on = stopping();  // it was in this stage when the signal came
            if (!prepared.push(std::move(work))) break;
        }
        prepared.close();
    });

    std::thread generator([&] {
        for (;;) {
            auto first = prepared.pop();
            if (!first) break;
            // Batch faces across whatever inputs are already waiting; never wait for more.
            std::vector<std::unique_ptr<Work>> group;
            std::size_t faces = (*first)->faces.size();
            group.push_back(std::move(*first));
            while (faces < batch) {
                auto next = prepared.try_pop();
                if (!next) break;
                faces += (*next)->faces.size();
                group.push_back(std::move(*next));
            }
            // After a stop only what was in the preparing stage is generated; the rest waited.
            const bool stopped = stopping();
            std::vector<Work*> view;
            for (auto& w : group)
                if (!stopped || w->carry_on) view.push_back(w.get());
            p.generate(view);
            const bool stopped_during = stopping();  // then these were in this stage: finish them
            for (Work* w : view) w->carry_on = stopped_during;
            for (auto& w : group) generated.push(std::move(w));
        }
        generated.close();
    });

    std::size_t done = 0;  // jobs through every stage (or dropped), in order
    int dropped = 0;       // prepared but only waiting when a stop signal came
    auto emit_not_started = [&](const Job& job) {
        ++summary.not_started;
        InputRecord record;
        record.input = job.input;
        record.kind = p.config.kind;
        record.status = Status::not_started;
        emit(make_record(record, p.run_info), {job.input, "not_started", "", {}, ""});
    };
    while (auto item = generated.pop()) {
        Work& work = **item;
        emit_rejected_before(done++);
        if (!work.skipped && !work.carry_on && stopping()) {
            ++dropped;
            emit_not_started(work.job);
            continue;
        }
        nlohmann::json record;
        if (work.skipped) {
            ++summary.skipped;
            work.record.status = Status::skipped;
            record = make_skipped_record(work.record, work.found_outputs, p.run_info);
        } else {
            p.finish(work);
            p.report_outcome(work, summary);
            record = make_record(work.record, p.run_info);
        }
        for (const auto& [stage, ms] : work.record.timings.stages_ms) manifest.stages.add(stage, ms);
        emit(record, entry_of(work));
    }
    preparer.join();
    generator.join();

    summary.signal = stop_requested ? stop_requested() : 0;
    // The inputs a signal kept from starting: a record each, saying so.
    summary.dropped = dropped;
    for (std::size_t i = done; i < total; ++i) {
        emit_rejected_before(i);
        emit_not_started(discovery.jobs[i]);
    }
    emit_rejected_before(total);
    p.reporter.finish_progress();
    summary.records_lost = p.reporter.records_lost();
    summary.seconds = std::chrono::duration<double>(Clock::now() - created_).count();
    if (!discovery.output_dir.empty()) {
        write_run_manifest(discovery.output_dir, summary, manifest);
        // Last, from every sidecar in the folder: with shards, the last to finish shows them all.
        if (p.config.gallery) summary.gallery_lost = rebuild_gallery(discovery.output_dir, p.reporter) != 0;
    }
    return summary;
}

void Pipeline::write_run_manifest(const std::string& output_dir, RunSummary& summary, RunManifest& m) const {
    const Impl& p = *impl_;
    m.finished = std::chrono::system_clock::now();
    m.command_line = p.config.command_line;
    m.shard_index = p.config.shard_index;
    m.shard_count = p.config.shard_count;
    m.run = p.run_info;
    static_cast<RunCounts&>(m) = summary;
    m.signal = summary.signal;
    m.exit_code = summary.exit_code();
    m.seconds = summary.seconds;
    try {
        summary.manifest = write_manifest(output_dir, m);
    } catch (const std::exception& e) {
        // The images and sidecars are all there; only the batch's own record is missing.
        p.reporter.error("", fmt::format("run manifest not written: {}", e.what()));
        summary.manifest_lost = true;
    }
}

}  // namespace aiportrait

// Private to the pipeline: what each stage does to one input (stages.cpp); pipeline.cpp runs
// them on threads. Not a public header: stages never see it.
#pragma once

#include "aiportrait/compose.hpp"
#include "aiportrait/config.hpp"
#include "aiportrait/decode.hpp"
#include "aiportrait/detect.hpp"
#include "aiportrait/discover.hpp"
#include "aiportrait/generator.hpp"
#include "aiportrait/identity.hpp"
#include "aiportrait/pipeline.hpp"
#include "aiportrait/report.hpp"
#include "aiportrait/sidecar.hpp"

#include <memory>
#include <vector>

namespace aiportrait {

// One input on its way through the stages.
struct Work {
    Job job;
    InputRecord record;
    DecodedImage image;
    cv::Mat visible;                    // image as shown: transparent pixels composited on white
    std::vector<std::size_t> used;      // indices into record.faces, in generation order
    std::vector<GeneratedFace> faces;   // one per used face: aligned, then generated
    bool skipped = false;               // --skip-existing found it done
    std::vector<std::string> found_outputs;  // ... with these images
    bool ready_to_generate = false;     // decoded, has faces, aligned
    // A stage was working on it when a stop signal came: it is finished. Inputs only waiting in
    // a queue then are dropped (not started), so Ctrl-C ends the run at once.
    bool carry_on = false;
};

struct Pipeline::Impl {
    const Config& config;
    Reporter& reporter;
    std::unique_ptr<FaceDetector> detector;
    std::unique_ptr<Generator> generator;
    std::unique_ptr<IdentityNet> identity;
    RunInfo run_info;
    int threads = 1;

    Impl(const Config& c, Reporter& r) : config(c), reporter(r) {}

    void load_models();  // setup.cpp

    // Stage 1: read, hash, decode, detect, choose and align faces.
    void prepare(Work& work) const;
    // Stage 2: generate every ready face of a batch of inputs in one forward (or, with
    // --target-identity, search each face's strength), then their identity distances.
    void generate(const std::vector<Work*>& batch) const;
    // Stage 3: compose, encode, write image then sidecar.
    void finish(Work& work) const;
    // One line on stderr per input that needs attention, naming it once, and the count.
    void report_outcome(const Work& work, RunSummary& summary) const;

private:
    std::vector<double> distances(const std::vector<const GeneratedFace*>& faces,
                                  const std::vector<cv::Mat>& finals) const;
    void search_strength(Work& work) const;
    void write_outputs(Work& work) const;
    void write_sidecar(const Job& job, InputRecord& record) const;
};

}  // namespace aiportrait

// Private to the pipeline: what an earlier run left beside an output, read back from its sidecar
// (the schema's owner, sidecar.hpp, says what a record means; this says what is on disk).
#pragma once

#include "aiportrait/discover.hpp"
#include "aiportrait/sidecar.hpp"

#include <string>
#include <vector>

namespace aiportrait {

// A sidecar that exists and says the input was done from these bytes (`input_sha256`) with the
// same generator, detector and parameters as this run (threads and batch aside), and its
// outputs are there byte for byte as it wrote them, so --skip-existing may skip it: returns
// those outputs' paths, or nothing when the input is not done.
std::vector<std::string> completed_before(const Job& job, const RunInfo& run, const std::string& input_sha256);

// The images the earlier record at the job's sidecar names under the job's name: its output in
// any format (x.webp for -o x.png) and its NAME_faceN files (--all-faces), the ones a rerun with
// another extension, --format or mode would leave beside a sidecar that no longer describes them.
std::vector<RecordedOutput> earlier_outputs(const Job& job);

// After a rerun's sidecar is written: removes those of `earlier` that it did not write again
// (`written`). Files at the job's own output names go in any case; others (another extension)
// only while their bytes are still what the record says, so a file a person put there stays.
void remove_replaced_outputs(const Job& job, const std::vector<RecordedOutput>& earlier,
                             const std::vector<std::string>& written);

// Before a failed input's sidecar replaces an earlier run's: that run's images go too, so no
// portrait sits beside a record that says there is none (remove_replaced_outputs, nothing written).
void remove_earlier_outputs(const Job& job);

}  // namespace aiportrait

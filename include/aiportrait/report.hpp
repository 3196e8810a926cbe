// Everything the tool tells a person (stderr) or a program (stdout NDJSON). Human messages never
// go to stdout, so stdout stays clean for image bytes or JSON records.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <mutex>
#include <string>

namespace aiportrait {

class Reporter {
public:
    // progress: draw a progress bar (caller decides: only when stderr is a terminal).
    Reporter(bool quiet, bool json_records, bool progress);

    void error(const std::string& input, const std::string& message);  // always shown
    void warning(const std::string& message);
    void info(const std::string& message);
    // One line on stdout when --json. If standard output cannot be written (a full disk, a
    // closed or dead pipe) the error is said once and records_lost() turns true.
    void record(const nlohmann::json& record);
    bool records_lost() const;
    void progress(int done, int total);
    void finish_progress();

private:
    void clear_bar_locked();
    bool quiet_, json_, progress_;
    bool bar_drawn_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_draw_{};
    std::string stdout_error_;
    mutable std::mutex mutex_;
};

}  // namespace aiportrait

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
    void record(const nlohmann::json& record);  // one line on stdout when --json
    void progress(int done, int total);
    void finish_progress();

private:
    void clear_bar_locked();
    bool quiet_, json_, progress_;
    bool bar_drawn_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_draw_{};
    std::mutex mutex_;
};

}  // namespace aiportrait

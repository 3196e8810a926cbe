#include "aiportrait/report.hpp"

#include "aiportrait/output.hpp"
#include "aiportrait/sidecar.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <iostream>

namespace aiportrait {

Reporter::Reporter(bool quiet, bool json_records, bool progress)
    : quiet_(quiet), json_(json_records), progress_(progress && !quiet) {}

void Reporter::clear_bar_locked() {
    if (bar_drawn_) {
        std::fputs("\r\033[K", stderr);
        bar_drawn_ = false;
    }
}

void Reporter::error(const std::string& input, const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex_);
    clear_bar_locked();
    if (input.empty()) {
        fmt::print(stderr, "aiportrait: error: {}\n", message);
    } else {
        fmt::print(stderr, "aiportrait: error: {}: {}\n", input == "-" ? "<stdin>" : input, message);
    }
}

void Reporter::warning(const std::string& message) {
    if (quiet_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    clear_bar_locked();
    fmt::print(stderr, "aiportrait: warning: {}\n", message);
}

void Reporter::info(const std::string& message) {
    if (quiet_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    clear_bar_locked();
    fmt::print(stderr, "aiportrait: {}\n", message);
}

void Reporter::record(const nlohmann::json& record) {
    if (!json_) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stdout_error_.empty()) return;  // said once; the records cannot reach their reader
    const std::string line = dump_record(record) + "\n";
    try {
        write_stdout(std::vector<std::uint8_t>(line.begin(), line.end()));
    } catch (const std::exception& e) {
        stdout_error_ = e.what();
        clear_bar_locked();
        fmt::print(stderr, "aiportrait: error: {}; the --json records of this run are incomplete\n", stdout_error_);
    }
}

bool Reporter::records_lost() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return !stdout_error_.empty();
}

void Reporter::progress(int done, int total) {
    if (!progress_ || total <= 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const int width = 30;
    const int filled = total ? done * width / total : width;
    const double rate = seconds > 0 ? done / seconds : 0.0;
    const std::string eta = rate > 0 ? fmt::format("{:.0f}s left", (total - done) / rate) : "";
    fmt::print(stderr, "\r\033[K[{}{}] {}/{} {:.1f} img/s {}", std::string(filled, '#'),
               std::string(width - filled, '.'), done, total, rate, eta);
    std::fflush(stderr);
    bar_drawn_ = true;
}

void Reporter::finish_progress() {
    std::lock_guard<std::mutex> lock(mutex_);
    clear_bar_locked();
}

}  // namespace aiportrait

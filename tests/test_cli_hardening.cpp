// Hardening tests on the real binary: a corpus of awkward files, kill -9 and resume, SIGINT and
// SIGTERM, full disks, permissions, broken models. Every test checks what a person would: the
// exit code, one stderr line per bad input, and that no broken or half-written file is left.
#include "aiportrait/decode.hpp"
#include "aiportrait/detect.hpp"

#include "awkward.hpp"
#include "cli_testing.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <chrono>
#include <functional>
#include <csignal>
#include <map>
#include <thread>

#include <unistd.h>

using namespace aiportrait;
using namespace aiportrait::testing;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

#define REQUIRE_MODELS()                          \
    AIPORTRAIT_REQUIRE_FILE(yunet_model());       \
    AIPORTRAIT_REQUIRE_FILE(sample_photo(1))

// The small identity generator without the identity net: these tests are about files, not faces.
std::string fast_model() { return " --no-identity --model " + quote(test_models_dir() / "identity_256.pt"); }

std::vector<fs::path> files_under(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file()) out.push_back(it->path());
    return out;
}

std::vector<fs::path> temporaries_under(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const fs::path& p : files_under(dir))
        if (p.filename().string().find(".aiportrait-tmp.") != std::string::npos) out.push_back(p);
    return out;
}

// Every image under `dir` decodes and every sidecar parses (what atomic writes promise at any
// moment, even right after kill -9). Returns the number of images.
int expect_outputs_whole(const fs::path& dir) {
    int images = 0;
    for (const fs::path& p : files_under(dir)) {
        if (p.filename().string().find(".aiportrait-tmp.") != std::string::npos) continue;
        if (p.extension() == ".png") {
            ++images;
            EXPECT_FALSE(cv::imread(p.string(), cv::IMREAD_UNCHANGED).empty()) << "half-written image " << p;
        } else if (p.extension() == ".json") {
            EXPECT_FALSE(json::parse(read_text(p), nullptr, false).is_discarded()) << "half-written sidecar " << p;
        }
    }
    return images;
}

std::map<std::string, json> records_by_input(const std::string& ndjson) {
    std::map<std::string, json> out;
    std::stringstream ss(ndjson);
    for (std::string line; std::getline(ss, line);)
        if (!line.empty()) {
            const json j = json::parse(line);
            out[j["input"]["path"].get<std::string>()] = j;
        }
    return out;
}

// The lines of `text` that mention `needle`.
std::vector<std::string> lines_naming(const std::string& text, const std::string& needle) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    for (std::string line; std::getline(ss, line);)
        if (line.find(needle) != std::string::npos) out.push_back(line);
    return out;
}

cv::Rect2f box_of(const json& face) {
    return {face["box"]["x"], face["box"]["y"], face["box"]["width"], face["box"]["height"]};
}

bool any_sidecar(const fs::path& dir) {
    for (const fs::path& p : files_under(dir))
        if (p.extension() == ".json") return true;
    return false;
}

// A folder of real photos: the six examples plus, when ../shared is there, a few of the smaller
// evaluation photos, spread over two subfolders (two output folders to clean up).
int copy_photos(const fs::path& in, std::size_t shared_count) {
    fs::create_directories(in / "a");
    fs::create_directories(in / "b");
    int n = 0;
    for (int i = 1; i <= 6; ++i, ++n) fs::copy_file(sample_photo(i), in / (i % 2 ? "a" : "b") / sample_photo(i).filename());
    std::vector<fs::path> eval;
    std::error_code ec;
    for (fs::directory_iterator it(eval_faces_dir(), ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".jpg" && it->file_size() < 400 * 1024) eval.push_back(it->path());
    std::sort(eval.begin(), eval.end());
    for (std::size_t i = 0; i < eval.size() && i < shared_count; ++i, ++n)
        fs::copy_file(eval[i], in / "b" / ("eval_" + eval[i].filename().string()));
    return n;
}

}  // namespace

TEST(Hardening, AwkwardCorpusMixedWithGoodPhotos) {
    REQUIRE_MODELS();
    TempDir dir;
    const fs::path in = dir / "in";
    const auto entries = awkward::make_corpus(cv::imread(sample_photo(3).string()), in / "awkward", false);
    fs::create_directories(in / "good");
    for (int i = 1; i <= 6; ++i) fs::copy_file(sample_photo(i), in / "good" / sample_photo(i).filename());
    const auto start = Clock::now();
    const auto r = run_shell(tool() + " " + quote(in) + " -o " + quote(dir / "out") + " --paste --json" + fast_model());
    std::cout << "corpus of " << entries.size() << " awkward files + 6 photos: "
              << std::chrono::duration<double>(Clock::now() - start).count() << " s\n";
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const auto records = records_by_input(r.out);

    std::map<std::string, const json*> by_name;
    for (const auto& e : entries) {
        SCOPED_TRACE(e.path);
        const std::string input = (in / "awkward" / e.path).string();
        // Each bad file named once on stderr, on a line with its reason; good files not at all.
        const auto lines = lines_naming(r.err, input + ":");
        if (e.expect == "ok") {
            EXPECT_TRUE(lines.empty()) << r.err;
        } else {
            ASSERT_EQ(lines.size(), 1u) << r.err;
            EXPECT_NE(lines[0].find(e.reason), std::string::npos) << lines[0];
        }
        if (e.expect == "rejected") {  // refused before reading: a record, no sidecar
            ASSERT_EQ(records.count(input), 1u) << r.out;
            EXPECT_EQ(records.at(input)["status"], "error");
            EXPECT_TRUE(records.at(input)["sidecar"].is_null());
            continue;
        }
        ASSERT_EQ(records.count(input), 1u) << r.out;
        const json& rec = records.at(input);
        by_name[e.path] = &rec;
        const json side = json::parse(read_text(rec["sidecar"].get<std::string>()));  // parses
        EXPECT_EQ(side["status"], rec["status"]);
        const std::string status = rec["status"];
        const std::string wanted = e.expect == "warn" ? "ok" : e.expect;
        if (e.any_face_status) EXPECT_TRUE(status == "ok" || status == "no_face") << status;
        else EXPECT_EQ(status, wanted);
        if (e.expect == "warn") {
            ASSERT_FALSE(rec["warnings"].empty());
            EXPECT_NE(rec["warnings"].dump().find(e.reason), std::string::npos) << rec["warnings"];
        }
        if (!e.format.empty()) EXPECT_NE(rec["input"]["format"].get<std::string>().find(e.format), std::string::npos) << rec["input"];
        // Never decoded (refused by its header, unreadable): null, not a placeholder 1.
        if (status == "error" && rec["input"]["exif_orientation"].is_null()) EXPECT_TRUE(rec["input"]["format"].is_null());
        else EXPECT_EQ(rec["input"]["exif_orientation"], e.orientation);
        const fs::path mapped = (dir / "out" / "awkward" / e.path).replace_extension(".png");
        if (status != "ok") {
            EXPECT_FALSE(fs::exists(mapped)) << "no image for a failed input";
            continue;
        }
        // The output decodes, is upright (same size as the upright input) and keeps alpha.
        const cv::Mat output = cv::imread(rec["output"]["path"].get<std::string>(), cv::IMREAD_UNCHANGED);
        ASSERT_FALSE(output.empty());
        EXPECT_EQ(output.cols, rec["input"]["width"]);
        EXPECT_EQ(output.rows, rec["input"]["height"]);
        if (e.alpha) {
            ASSERT_EQ(output.channels(), 4);
            cv::Mat out_alpha;
            cv::extractChannel(output, out_alpha, 3);
            const DecodedImage source = decode_image(read_input_bytes(input), 0);
            EXPECT_EQ(cv::norm(out_alpha, source.alpha, cv::NORM_INF), 0.0) << "alpha must be kept bit for bit";
        }
    }
    // EXIF: the face is found where it is in the upright original, not merely found.
    for (const auto& e : entries) {
        if (e.same_face_as.empty() || !by_name.count(e.path)) continue;
        const json& rec = *by_name[e.path];
        const json& upright = *by_name.at(e.same_face_as);
        EXPECT_EQ(rec["input"]["width"], upright["input"]["width"]) << e.path;
        ASSERT_FALSE(rec["faces"].empty()) << e.path;
        EXPECT_GE(iou(box_of(rec["faces"][0]), box_of(upright["faces"][0])), 0.8f) << e.path;
    }
    for (int i = 1; i <= 6; ++i) {
        const std::string input = (in / "good" / sample_photo(i).filename()).string();
        ASSERT_EQ(records.count(input), 1u);
        EXPECT_EQ(records.at(input)["status"], "ok");
        EXPECT_TRUE(lines_naming(r.err, input).empty()) << r.err;
    }
    EXPECT_EQ(expect_outputs_whole(dir / "out"), static_cast<int>(std::count_if(records.begin(), records.end(),
                                                     [](const auto& kv) { return kv.second["status"] == "ok"; })));
    EXPECT_TRUE(temporaries_under(dir / "out").empty());
    for (const auto& [input, rec] : records) EXPECT_EQ(input.find("links/loop"), std::string::npos) << "followed a loop";
}

TEST(Hardening, KillNineAtSeveralPointsThenSkipExistingCompletes) {
    REQUIRE_MODELS();
    TempDir dir;
    const int photos = copy_photos(dir / "in", 6);
    const std::string args = quote(dir / "in") + " -o " + quote(dir / "out") + " --skip-existing" + fast_model();
    const auto start = Clock::now();
    int temporaries_seen = 0, kills = 0;
    // Killed while loading models, then each time the resumed run has finished one more input (a
    // new sidecar: evidence, not a delay, which under load all landed before the first portrait).
    const auto sidecars = [&] {
        const std::vector<fs::path> files = files_under(dir / "out");
        return std::count_if(files.begin(), files.end(), [](const fs::path& p) { return p.extension() == ".json"; });
    };
    for (int kill_point = 0, status = 0; kill_point < 5; ++kill_point, ++kills) {
        const auto before = sidecars();
        const pid_t pid = spawn_tool(args, dir / "stdout", dir / "stderr");
        bool ended = false;  // it finished first: nothing left to interrupt
        if (kill_point == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
        else wait_for([&] { return sidecars() > before || (ended = waitpid(pid, &status, WNOHANG) == pid); }, 120);
        if (ended || (kill(pid, SIGKILL), !WIFSIGNALED(status = wait_status(pid)))) break;
        temporaries_seen += static_cast<int>(temporaries_under(dir / "out").size());
        expect_outputs_whole(dir / "out");
    }
    // kill -9 rarely lands inside a write (they take milliseconds), so also leave a temporary as
    // a process that died mid-write would: the resumed run must clean it up.
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    std::string h(host);
    std::replace(h.begin(), h.end(), '.', '_');
    write_text(dir / "out/a" / (".sample3.png.aiportrait-tmp." + h + ".4999999.AbCdEf"), "half an image");
    const auto r = run_shell(tool() + " " + args);
    std::cout << photos << " photos, " << kills << " kills, " << temporaries_seen << " temporaries left by them; all in "
              << std::chrono::duration<double>(Clock::now() - start).count() << " s\n";
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("skipped (already done)"), std::string::npos) << r.err;
    EXPECT_EQ(expect_outputs_whole(dir / "out"), photos);
    EXPECT_TRUE(temporaries_under(dir / "out").empty());
    for (const fs::path& p : files_under(dir / "in")) {
        const fs::path side = dir / "out" / p.parent_path().filename() / p.filename().replace_extension(".json");
        ASSERT_TRUE(fs::exists(side)) << side;
        EXPECT_EQ(json::parse(read_text(side))["status"], "ok") << side;
    }

    // --skip-existing trusts only outputs that still look whole: damaged ones are redone.
    const fs::path image = dir / "out/a/sample1.png", sidecar = dir / "out/b/sample2.json";
    write_text(image, read_text(image).substr(0, 100));
    write_text(sidecar, "{\"status\": \"ok\", \"outp");
    const json odd = {{"status", "ok"}, {"output", {{"path", (dir / "out/a/sample3.png").string()}, {"width", "wide"}}}};
    write_text(dir / "out/a/sample3.json", odd.dump());  // parses, wrong types
    const auto again = run_shell(tool() + " " + args);
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.err.find(std::to_string(photos) + " inputs: 3 ok, 0 no face, 0 failed, " +
                             std::to_string(photos - 3) + " skipped"),
              std::string::npos) << again.err;
    EXPECT_EQ(expect_outputs_whole(dir / "out"), photos);
}

TEST(Hardening, SigtermAndSigintStopAfterTheInputInProgress) {
    REQUIRE_MODELS();
    for (const int sig : {SIGTERM, SIGINT}) {
        SCOPED_TRACE(sig);
        TempDir dir;
        const int photos = copy_photos(dir / "in", 4);
        const pid_t pid = spawn_tool(quote(dir / "in") + " -o " + quote(dir / "out") + fast_model(), dir / "stdout",
                                     dir / "stderr");
        ASSERT_TRUE(wait_for([&] { return any_sidecar(dir / "out"); }, 60));
        kill(pid, sig);
        const int status = wait_status(pid);
        const std::string err = read_text(dir / "stderr");
        ASSERT_TRUE(WIFEXITED(status)) << "killed instead of stopping: " << err;
        EXPECT_EQ(WEXITSTATUS(status), 128 + sig) << err;
        EXPECT_NE(err.find("not started (stopped by signal " + std::to_string(sig) + ")"), std::string::npos) << err;
        const int done = expect_outputs_whole(dir / "out");
        EXPECT_GE(done, 1);
        EXPECT_LT(done, photos);
        EXPECT_TRUE(temporaries_under(dir / "out").empty());
        for (const fs::path& p : files_under(dir / "out"))  // each image has its sidecar
            if (p.extension() == ".png") EXPECT_TRUE(fs::exists(fs::path(p).replace_extension(".json"))) << p;
    }
    // A second signal ends the run at once (the default action), as an impatient Ctrl-C expects.
    // Full-size detection makes each input take long enough for both signals to land inside one
    // (--paste: portrait mode may skip the full-size view once it has found the main face).
    TempDir dir;
    copy_photos(dir / "in", 0);
    const pid_t pid = spawn_tool(quote(dir / "in") + " -o " + quote(dir / "out") + " --paste --detect-max-side 0" +
                                     fast_model(),
                                 dir / "o", dir / "e");
    ASSERT_TRUE(wait_for([&] { return any_sidecar(dir / "out"); }, 60));
    kill(pid, SIGINT);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // two pending SIGINTs merge into one
    kill(pid, SIGINT);
    const int status = wait_status(pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << read_text(dir / "e");
    expect_outputs_whole(dir / "out");
}

TEST(Hardening, FullDiskLeavesNoPartialFile) {
    REQUIRE_MODELS();
    TempDir dir;
    // Standard output on a full device.
    const auto full = run_shell(tool() + " " + quote(sample_photo(1)) + " -o - --sidecar " + quote(dir / "s.json") +
                                fast_model() + " > /dev/full");
    EXPECT_EQ(full.exit_code, 1) << full.err;
    EXPECT_EQ(lines_naming(full.err, "No space left on device").size(), 1u) << full.err;
    EXPECT_EQ(json::parse(read_text(dir / "s.json"))["status"], "error");

    // A real full file system: a small tmpfs in a private mount namespace (needs root or user
    // namespaces). The size of this output is learnt from a normal run first.
    const auto normal = run_shell(tool() + " " + quote(sample_photo(1)) + " -o " + quote(dir / "n.png") + fast_model());
    ASSERT_EQ(normal.exit_code, 0) << normal.err;
    const auto pages = [](std::uintmax_t bytes) { return (bytes + 4095) / 4096; };
    const auto image_pages = pages(fs::file_size(dir / "n.png"));
    const auto sidecar_pages = pages(fs::file_size(dir / "n.json") + 1024);  // its paths differ a little
    ASSERT_LT(sidecar_pages, image_pages);
    const std::string unshare = ::geteuid() == 0 ? "unshare -m" : "unshare -rm";
    if (run_shell(unshare + " sh -c 'mount -t tmpfs -o size=1m tmpfs " + quote(dir.path()) + "'").exit_code != 0)
        GTEST_SKIP() << "cannot mount a tmpfs here (" << unshare << "); only /dev/full was tested";
    // Room for the sidecar but not the image, then for the image but not the sidecar (which
    // must take the image back with it: an image without sidecar would look done).
    for (const auto free_pages : {sidecar_pages, image_pages}) {
        SCOPED_TRACE(free_pages);
        const fs::path disk = dir / ("disk" + std::to_string(free_pages));
        fs::create_directories(disk);
        const std::string script =
            "mount -t tmpfs -o size=1m tmpfs " + quote(disk) + " && (dd if=/dev/zero of=" + quote(disk / "filler") +
            " bs=4096 2>/dev/null; truncate -s -" + std::to_string(free_pages * 4096) + " " + quote(disk / "filler") +
            ") && " + tool() + " " + quote(sample_photo(1)) + " -o " + quote(disk / "out.png") + fast_model() +
            "; echo \"exit=$?\"; ls -A " + quote(disk) + "; echo ---; cat " + quote(disk / "out.json") + " 2>/dev/null";
        const auto r = run_shell(unshare + " sh -c " + quote(script));
        const std::string listing = r.out.substr(0, r.out.find("---"));
        EXPECT_NE(r.out.find("exit=1"), std::string::npos) << r.out << r.err;
        EXPECT_EQ(lines_naming(r.err, "No space left on device").size(), 1u) << r.err;
        EXPECT_EQ(listing.find("out.png"), std::string::npos) << "partial or orphaned image: " << listing;
        EXPECT_EQ(listing.find(".aiportrait-tmp."), std::string::npos) << listing;
        if (free_pages == sidecar_pages) EXPECT_NE(r.out.find("\"status\": \"error\""), std::string::npos) << r.out;
        else EXPECT_EQ(listing.find("out.json"), std::string::npos) << listing;
    }
}

TEST(Hardening, UnreadableInputsAndUnwritableOutputFolder) {
    REQUIRE_MODELS();
    TempDir dir;
    // Root reads and writes everything, so as root the binary runs as nobody (setpriv).
    std::string as_user;
    if (::geteuid() == 0) {
        as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups -- ";
        if (run_shell(as_user + "true").exit_code != 0) GTEST_SKIP() << "running as root without setpriv";
    }
    fs::create_directories(dir / "in/locked");
    fs::copy_file(sample_photo(1), dir / "in/good.jpg");
    fs::copy_file(sample_photo(2), dir / "in/secret.jpg");
    fs::copy_file(sample_photo(3), dir / "in/locked/hidden.jpg");
    fs::permissions(dir / "in/secret.jpg", fs::perms::none);
    fs::permissions(dir / "in/locked", fs::perms::none);
    fs::create_directories(dir / "out");
    fs::permissions(dir / "out", fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read |
                                     fs::perms::others_exec | fs::perms::group_read | fs::perms::group_exec);
    const auto r = run_shell(as_user + tool() + " " + quote(dir / "in") + " -o " + quote(dir / "out") + fast_model());
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const std::map<std::string, std::string> expected = {
        {(dir / "in/secret.jpg").string() + ":", "Permission denied"},
        {(dir / "in/locked").string() + ":", "cannot list folder"},
        {(dir / "in/good.jpg").string() + ":", "Permission denied"},  // its output folder
    };
    for (const auto& [name, reason] : expected) {
        const auto lines = lines_naming(r.err, name);
        ASSERT_EQ(lines.size(), 1u) << name << "\n" << r.err;
        EXPECT_NE(lines[0].find(reason), std::string::npos) << lines[0];
    }
    EXPECT_TRUE(files_under(dir / "out").empty());
}

TEST(Hardening, BrokenModelsAreExitTwoWithOneLine) {
    REQUIRE_MODELS();
    TempDir dir;
    const std::string full = read_text(test_models_dir() / "identity_256.pt");
    write_text(dir / "truncated.pt", full.substr(0, full.size() / 2));
    write_text(dir / "text.pt", "not a model\n");
    const std::vector<fs::path> models = {
        dir / "truncated.pt", dir / "text.pt", yunet_model(), test_models_dir() / "broken_wrong_shape.pt",
        test_models_dir() / "broken_nan.pt", test_models_dir() / "broken_range.pt",
        test_models_dir() / "broken_no_metadata.pt"};
    for (const fs::path& model : models) {
        const auto r = run_shell(tool() + " " + quote(sample_photo(1)) + " -o " + quote(dir / "p.png") +
                                 " --no-identity --model " + quote(model));
        EXPECT_EQ(r.exit_code, 2) << model << ": " << r.err;
        EXPECT_EQ(lines_naming(r.err, "error").size(), 1u) << r.err;
        EXPECT_EQ(lines_naming(r.err, model.string()).size(), 1u) << r.err;
        EXPECT_FALSE(fs::exists(dir / "p.png"));
        EXPECT_FALSE(fs::exists(dir / "p.json"));
    }
}

TEST(Hardening, AlphaPortraitsAreCompositedOnWhiteDeterministically) {
    REQUIRE_MODELS();
    TempDir dir;
    // Two files that look the same (alpha 0 hides different colours) give the same portrait.
    const cv::Mat photo = cv::imread(sample_photo(3).string());
    cv::Mat alpha(photo.size(), CV_8UC1, cv::Scalar(255)), bgra[2];
    alpha.colRange(0, photo.cols / 4).setTo(0);
    for (int k = 0; k < 2; ++k) {
        cv::Mat hidden = photo.clone();
        hidden.colRange(0, photo.cols / 4).setTo(cv::Scalar::all(k ? 255 : 0));
        cv::merge(std::vector<cv::Mat>{hidden, alpha}, bgra[k]);
        awkward::write_file(dir / ("in/" + std::to_string(k) + ".png"), awkward::png(bgra[k]));
    }
    const auto r = run_shell(tool() + " " + quote(dir / "in") + " -o " + quote(dir / "out") + " --all-faces" + fast_model());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_text(dir / "out/0_face1.png"), read_text(dir / "out/1_face1.png"));
    EXPECT_EQ(cv::imread((dir / "out/0_face1.png").string(), cv::IMREAD_UNCHANGED).channels(), 3) << "portraits are opaque";
    // A format without alpha gets the photo as seen on white (here black under alpha 0).
    const auto jpg = run_shell(tool() + " " + quote(dir / "in/0.png") + " -o " + quote(dir / "p.jpg") + " --paste" + fast_model());
    ASSERT_EQ(jpg.exit_code, 0) << jpg.err;
    const cv::Mat pasted = cv::imread((dir / "p.jpg").string());
    EXPECT_GT(cv::mean(pasted.colRange(0, photo.cols / 4 - 8))[0], 245.0);
}

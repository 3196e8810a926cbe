// What a user hits in the first week (issue #30), each on the real binary: a reader that goes
// away, one --json record per input in input order, limits on threads, models with a bad
// template, messages that say what is wrong.
#include "cli_testing.hpp"
#include "model_testing.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

using namespace aiportrait::testing;
using nlohmann::json;

namespace {

// The tool with SIGPIPE at its default action, whatever the test runner inherited, and its exit
// code on stderr as "rc=N" (the reader after it in the pipe decides the pipeline's status).
std::string piped(const std::string& args, const std::string& reader) {
    return "{ env --default-signal=PIPE " + fast() + " " + args + "; echo \"rc=$?\" >&2; } | " + reader;
}

std::vector<std::string> statuses(const std::string& ndjson_text) {
    std::vector<std::string> out;
    for (const json& r : ndjson(ndjson_text)) out.push_back(r["status"]);
    return out;
}

std::vector<std::string> record_names(const std::string& ndjson_text) {
    std::vector<std::string> out;
    for (const json& r : ndjson(ndjson_text)) out.push_back(fs::path(r["input"]["path"].get<std::string>()).filename());
    return out;
}

}  // namespace

TEST(WeekOne, AClosedPipeIsSaidOnceAndTheRunFinishes) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    // The portrait (~80 KB) is more than the pipe holds, so the reader's end is met mid-image.
    const auto image = run_shell(piped(quote(sample_photo(1)) + " -o -", "head -c100 >/dev/null"));
    EXPECT_NE(image.err.find("rc=1"), std::string::npos) << image.err;
    EXPECT_EQ(count_of(image.err, "Broken pipe"), 1) << image.err;
    EXPECT_NE(image.err.find("1 input: 0 ok, 0 no face, 1 failed"), std::string::npos) << image.err;

    // A folder run whose records' reader stops after the first: every input is still done.
    const fs::path in = make_mixed_inputs(dir.path());
    const auto records = run_shell(piped(quote(in) + " -o " + quote(dir / "out") + " --json", "head -n1"));
    EXPECT_EQ(ndjson(records.out).size(), 1u);
    EXPECT_NE(records.err.find("rc=1"), std::string::npos) << records.err;
    EXPECT_EQ(count_of(records.err, "Broken pipe"), 1) << records.err;
    EXPECT_NE(records.err.find("8 inputs: 6 ok, 1 no face, 1 failed"), std::string::npos) << records.err;
    for (const char* sidecar : {"a/sample1.json", "a/sample5.json", "b/sample6.json", "flat.json", "notes.json"})
        EXPECT_TRUE(fs::exists(dir / "out" / sidecar)) << sidecar;
    bool manifest = false;
    for (const auto& e : fs::directory_iterator(dir / "out"))
        manifest |= e.path().filename().string().rfind("aiportrait-run.", 0) == 0;
    EXPECT_TRUE(manifest) << "no run manifest";
}

namespace {

std::vector<std::string> manifest_names(const fs::path& out) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(out))
        if (e.path().filename().string().rfind("aiportrait-run.", 0) == 0) {
            names.clear();  // the one manifest of this run (each test run writes into a fresh folder)
            const json manifest = read_json(e.path());
            for (const json& entry : manifest["inputs"])
                names.push_back(fs::path(entry["input"]["path"].get<std::string>()).filename());
        }
    return names;
}

}  // namespace

TEST(WeekOne, JsonGivesEveryInputOneRecordInInputOrder) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    const fs::path in = make_mixed_inputs(dir.path());
    fs::create_symlink(dir / "nowhere.jpg", in / "a/sample2.jpg");  // refused, between a/sample1 and a/sample3
    fs::copy_file(sample_photo(1), dir / "extra.jpg");
    const std::string args = quote(in) + " " + quote(dir / "missing.jpg") + " " + quote(dir / "extra.jpg") + " -o " +
                             quote(dir / "out") + " --json";
    const std::vector<std::string> order = {"sample1.jpg", "sample2.jpg", "sample3.jpg", "sample5.jpg",
                                            "sample2.jpg", "sample4.jpg", "sample6.jpg", "flat.png",
                                            "notes.jpg",   "missing.jpg", "extra.jpg"};
    const auto first = run_shell(fast() + " " + args);
    EXPECT_EQ(first.exit_code, 1) << first.err;
    EXPECT_EQ(record_names(first.out), order) << first.out;
    EXPECT_EQ(manifest_names(dir / "out"), order);

    // Resumed: the inputs found done have a record too, saying so, in the same order.
    fs::remove_all(dir / "out");
    ASSERT_EQ(run_shell(fast() + " " + args).exit_code, 1);
    const auto resumed = run_shell(fast() + " " + args + " --skip-existing");
    EXPECT_EQ(resumed.exit_code, 1) << resumed.err;
    EXPECT_EQ(record_names(resumed.out), order) << resumed.out;
    const std::vector<std::string> expected = {"skipped", "error",   "skipped", "skipped", "skipped", "skipped",
                                               "skipped", "no_face", "error",   "error",   "skipped"};
    EXPECT_EQ(statuses(resumed.out), expected) << resumed.out;
    for (const json& r : ndjson(resumed.out))
        if (r["status"] == "skipped") {
            EXPECT_TRUE(fs::exists(r["output"]["path"].get<std::string>())) << r.dump();
            EXPECT_TRUE(r["input"]["sha256"].is_string()) << r.dump();
        }
}

TEST(WeekOne, InputsASignalKeptFromStartingHaveARecordEach) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    fs::create_directories(dir / "in");
    for (int copy = 0; copy < 3; ++copy)
        for (int i = 1; i <= 6; ++i)
            fs::copy_file(sample_photo(i), dir / "in" / ("c" + std::to_string(copy) + "_" + std::to_string(i) + ".jpg"));
    // Full-size detection of every view: slow enough per input for the signal to land mid-run.
    const pid_t pid = spawn_tool(quote(dir / "in") + " -o " + quote(dir / "out") + " --json --paste --detect-max-side 0" +
                                     fast_model_args(),
                                 dir / "stdout", dir / "stderr");
    ASSERT_TRUE(wait_for([&] { return fs::exists(dir / "out/c0_1.json"); }, 60));
    kill(pid, SIGINT);
    const int status = wait_status(pid);
    const std::string err = read_text(dir / "stderr");
    ASSERT_TRUE(WIFEXITED(status)) << err;
    EXPECT_EQ(WEXITSTATUS(status), 130) << err;
    const std::vector<std::string> s = statuses(read_text(dir / "stdout"));
    ASSERT_EQ(s.size(), 18u) << read_text(dir / "stdout");
    const auto not_started = std::count(s.begin(), s.end(), "not_started");
    EXPECT_GE(not_started, 1);
    // The ones done come first, then those never started, as in input order.
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end(), [](const std::string& a, const std::string& b) {
        return a != "not_started" && b == "not_started";
    }));
    EXPECT_NE(err.find(std::to_string(not_started) + " not started"), std::string::npos) << err;
}

TEST(WeekOne, ThreadsHaveAnUpperBoundSaidInTheErrorAndOpenCvStaysQuiet) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    const int cores = std::stoi(run_shell("nproc").out);
    const std::string model = " --no-identity --model " + quote(test_models_dir() / "identity_256.pt");
    const std::string photo = quote(sample_photo(1)) + " -o " + quote(dir / "p.png");
    // One more than the bound is a usage error before any work, and the error gives the bound.
    const auto over = run_shell(tool() + model + " " + photo + " --threads " + std::to_string(4 * cores + 1));
    EXPECT_EQ(over.exit_code, 2) << over.err;
    EXPECT_NE(over.err.find("--threads"), std::string::npos) << over.err;
    EXPECT_NE(over.err.find(std::to_string(4 * cores)), std::string::npos) << over.err;
    EXPECT_FALSE(fs::exists(dir / "p.png"));
    // A negative count says so in a line, not with a 300-digit bound.
    const auto negative = run_shell(tool() + model + " " + photo + " --threads -1");
    EXPECT_EQ(negative.exit_code, 2) << negative.err;
    EXPECT_LT(negative.err.size(), 200u) << negative.err;
    // The bound itself runs, and under -q prints nothing (TBB warned about workers it ignored).
    const auto most = run_shell(tool() + model + " " + photo + " -q --threads " + std::to_string(4 * cores));
    EXPECT_EQ(most.exit_code, 0) << most.err;
    EXPECT_EQ(most.err, "");
}

TEST(WeekOne, AGeneratorWithADegenerateTemplateIsExitTwoNamingIt) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    const fs::path model = dir / "flat_template.pt";
    copy_model_with_metadata(test_models_dir() / "identity_256.pt", model, [](json& meta) {
        meta["template"] = {{0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}};
    });
    const auto r = run_shell(tool() + " --no-identity --threads 1 --model " + quote(model) + " " + quote(sample_photo(1)) +
                             " " + quote(sample_photo(2)) + " -o " + quote(dir / "out"));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(count_of(r.err, "\n"), 1) << "one line: " << r.err;
    EXPECT_NE(r.err.find(model.string() + ": aiportrait.json \"template\" is degenerate"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out")) << "work was done before the model was refused";
}


TEST(WeekOne, UsageMessagesSayWhatIsWrong) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    const std::string photo = quote(sample_photo(1));
    const auto two = run_shell(fast() + " " + photo + " " + quote(sample_photo(2)) + " -o - > /dev/null");
    EXPECT_EQ(two.exit_code, 2);
    EXPECT_NE(two.err.find("-o - takes one input"), std::string::npos) << two.err;
    const auto both = run_shell("cat " + photo + " | " + fast() + " - --files-from - -o " + quote(dir / "x.png"));
    EXPECT_EQ(both.exit_code, 2);
    EXPECT_NE(both.err.find("both want standard input"), std::string::npos) << both.err;
    EXPECT_EQ(both.err.find("NUL"), std::string::npos) << both.err;
    const auto dashes = run_shell("cd " + quote(dir.path()) + " && " + fast() + " -- -weird.jpg -o w/");
    EXPECT_EQ(dashes.exit_code, 2);
    EXPECT_NE(dashes.err.find("after '--'"), std::string::npos) << dashes.err;
    const auto folder = run_shell(tool() + " --no-identity " + photo + " -o " + quote(dir / "x.png") + " --model " +
                                  quote(dir.path()));
    EXPECT_EQ(folder.exit_code, 2);
    EXPECT_NE(folder.err.find(dir.path().string() + ": is a folder"), std::string::npos) << folder.err;
}

TEST(WeekOne, AnImageThatCannotBeWrittenIsWhatTheErrorNames) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    // Nothing can be created in /proc, root or not: the image fails first, then its sidecar.
    const auto r = run_shell(fast() + " " + quote(sample_photo(1)) + " -o /proc/aiportrait-test.png");
    EXPECT_EQ(r.exit_code, 1);
    const std::size_t image = r.err.find("/proc/aiportrait-test.png: cannot create");
    EXPECT_NE(image, std::string::npos) << r.err;
    EXPECT_LT(image, r.err.find("/proc/aiportrait-test.json")) << "the sidecar named first: " << r.err;
}

TEST(WeekOne, TheSummaryCountsPortraitsAndTheWholeRunAndTheBarAgrees) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    AIPORTRAIT_REQUIRE_FILE("/usr/bin/script");
    TempDir dir;
    // Two photos' faces in one: --all-faces makes several portraits of one input.
    cv::Mat a = cv::imread(sample_photo(1).string()), b = cv::imread(sample_photo(2).string()), pair;
    cv::resize(b, b, cv::Size(b.cols * a.rows / b.rows, a.rows));
    cv::hconcat(a, b, pair);
    ASSERT_TRUE(cv::imwrite((dir / "pair.jpg").string(), pair));
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_shell(fast() + " " + quote(dir / "pair.jpg") + " -o " + quote(dir / "p.png") + " --all-faces");
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    int faces = 0;
    const json sidecar = read_json(dir / "p.json");
    for (const json& f : sidecar["faces"]) faces += f["used"].get<bool>();
    EXPECT_GE(faces, 2);
    EXPECT_NE(r.err.find("(" + std::to_string(faces) + " portraits, "), std::string::npos) << r.err;
    // The time from the process's start (loading the libraries takes ~0.5 s before main()).
    const std::size_t in = r.err.find(" in ");
    ASSERT_NE(in, std::string::npos) << r.err;
    EXPECT_GE(std::stod(r.err.substr(in + 4)) + 0.05, 0.8 * wall) << r.err << "wall " << wall;

    // On a terminal the bar ends at the count the summary gives, refused inputs included.
    const fs::path in_dir = make_mixed_inputs(dir.path());
    const auto tty = run_shell("TERM=xterm script -qec " +
                               quote(fast() + " " + quote(in_dir) + " " + quote(dir / "missing.jpg") + " -o " +
                                     quote(dir / "out")) +
                               " /dev/null");
    EXPECT_NE(tty.out.find("] 9/9 "), std::string::npos) << tty.out;
    EXPECT_NE(tty.out.find("9 inputs"), std::string::npos) << tty.out;
}

TEST(WeekOne, NothingToDoFailsAndLinkedFoldersAreSaidOnce) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    fs::create_directories(dir / "empty");
    write_text(dir / "heic/IMG_1.HEIC", "x");
    for (const char* folder : {"empty", "heic"}) {
        const auto r = run_shell(fast() + " " + quote(dir / folder) + " -o " + quote(dir / "out"));
        EXPECT_EQ(r.exit_code, 1) << folder << ": " << r.err;
        EXPECT_NE(r.err.find("no images"), std::string::npos) << r.err;
    }
    // A shard that gets none of the inputs is not a failure: another shard does them.
    fs::create_directories(dir / "one");
    fs::copy_file(sample_photo(1), dir / "one/a.jpg");
    for (const char* shard : {"1/2", "2/2"}) {
        const auto r = run_shell(fast() + " " + quote(dir / "one") + " -o " + quote(dir / "sharded") + " --shard " + shard);
        EXPECT_EQ(r.exit_code, 0) << shard << ": " << r.err;
    }
    // Symbolic links to folders are not followed, and that is said once.
    fs::create_directories(dir / "tree/real");
    fs::copy_file(sample_photo(1), dir / "tree/real/a.jpg");
    fs::create_directory_symlink("real", dir / "tree/link1");
    fs::create_directory_symlink("real", dir / "tree/link2");
    const auto r = run_shell(fast() + " " + quote(dir / "tree") + " -o " + quote(dir / "tree_out"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(count_of(r.err, "symbolic link"), 1) << r.err;
    EXPECT_NE(r.err.find("link1"), std::string::npos) << r.err;
}

TEST(WeekOne, TargetIdentityRecordsNoSingleStrength) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    const auto r = run_shell(tool() + " --threads 1 --model " + quote(test_models_dir() / "strength_blur.pt") + " " +
                             quote(sample_photo(1)) + " -o " + quote(dir / "p.png") + " --target-identity 0.3");
    ASSERT_TRUE(fs::exists(dir / "p.json")) << r.err;
    const json sidecar = read_json(dir / "p.json");
    EXPECT_TRUE(sidecar["parameters"]["strength"].is_null()) << sidecar["parameters"].dump();
    EXPECT_TRUE(sidecar["faces"][0]["strength"].is_number());
}




TEST(WeekOne, ASignalEndsTheRunAtOnceDroppingWhatOnlyWaits) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    // A slow generator behind a fast detector: the queues between the stages fill up, as with
    // the default generator on small photos. (Each forward ~0.3 s; small copies detect fast.)
    write_slow_identity_model(test_models_dir() / "identity_256.pt", dir / "slow.pt", 400);
    fs::create_directories(dir / "in");
    for (int copy = 0; copy < 5; ++copy)
        for (int i = 1; i <= 6; ++i) {
            cv::Mat photo = cv::imread(sample_photo(i).string()), small;
            cv::resize(photo, small, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
            cv::imwrite((dir / "in" / ("c" + std::to_string(copy) + "_" + std::to_string(i) + ".jpg")).string(), small);
        }
    const auto sidecars = [&] {
        int n = 0;
        std::error_code ec;
        // Inputs' sidecars only: the run manifest (aiportrait-run.*.json) written at the end is
        // not an input that was finished (counting it made the bound below fail under load).
        for (fs::directory_iterator it(dir / "out", ec), end; !ec && it != end; it.increment(ec))
            n += it->path().extension() == ".json" && it->path().filename().string().rfind("aiportrait-run.", 0) != 0;
        return n;
    };
    const pid_t pid = spawn_tool(quote(dir / "in") + " -o " + quote(dir / "out") + " --no-identity --threads 2 --model " +
                                     quote(dir / "slow.pt"),
                                 dir / "stdout", dir / "stderr");
    ASSERT_TRUE(wait_for([&] { return sidecars() >= 2; }, 120));
    std::this_thread::sleep_for(std::chrono::seconds(2));  // the queues fill meanwhile
    const int before = sidecars();
    const auto signalled = std::chrono::steady_clock::now();
    kill(pid, SIGINT);
    const int status = wait_status(pid);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
    const std::string err = read_text(dir / "stderr");
    ASSERT_TRUE(WIFEXITED(status)) << err;
    EXPECT_EQ(WEXITSTATUS(status), 130) << err;
    // Only what a stage was working on is finished: one being finished, one batch (4 faces, so at
    // most 4 inputs) being generated, one being prepared.
    EXPECT_LE(sidecars() - before, 6) << err;
    EXPECT_LT(took, 3.0) << err;
    std::cout << before << " sidecars at the signal, " << sidecars() << " at the end, " << took << " s to stop\n";
    EXPECT_NE(err.find("dropped unfinished"), std::string::npos) << err;
}

// Issue #30 item 3: a picture without people is no_face, in every mode, however face-like one of
// its textures is to the detector (here two galaxies that YuNet keeps at 0.71 after re-detecting
// them; before the second opinion the run wrote a "portrait" of them and exited 0).
TEST(WeekOne, APictureWithoutPeopleGivesNoPortraitInAnyMode) {
    AIPORTRAIT_REQUIRE_FAST_MODELS();
    TempDir dir;
    const fs::path sky = source_dir() / "tests" / "data" / "phantom_hubble_xdf.jpg";
    for (const char* mode : {"", " --all-faces", " --paste"}) {
        const fs::path out = dir / "sky.png";
        const auto r = run_shell(fast() + mode + " --json " + quote(sky) + " -o " + quote(out));
        EXPECT_EQ(r.exit_code, 1) << mode << ": " << r.err;
        EXPECT_NE(r.err.find("no face"), std::string::npos) << mode << ": " << r.err;
        EXPECT_NE(r.err.find("phantom_hubble_xdf.jpg"), std::string::npos) << mode << ": " << r.err;
        EXPECT_FALSE(fs::exists(out)) << mode;
        EXPECT_EQ(statuses(r.out), std::vector<std::string>{"no_face"}) << mode << ": " << r.out;
    }
}

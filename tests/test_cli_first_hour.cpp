// What a new user hits in the first hour (issue #11), each on the real binary: folder spellings,
// file names that are not UTF-8, NUL-separated lists, resume that only skips what was made from
// these bytes, one record per input, standard output that cannot be written, non-finite values.
#include "cli_testing.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <map>

using namespace aiportrait::testing;
using nlohmann::json;

namespace {

// The small identity generator without the identity net: these tests are about files and
// records, not faces.
std::string hex_byte(unsigned char c) {
    static const char* digits = "0123456789abcdef";
    return {digits[c >> 4], digits[c & 15]};
}

#define REQUIRE_MODELS()                    \
    AIPORTRAIT_REQUIRE_FILE(yunet_model()); \
    AIPORTRAIT_REQUIRE_FILE(sample_photo(1))

}  // namespace

TEST(FirstHour, OutputFolderSpellingsMeanWhatTheyMeanToTheShell) {
    REQUIRE_MODELS();
    TempDir dir;
    fs::create_directories(dir / "photos");
    fs::copy_file(sample_photo(1), dir / "photos/a.jpg");
    fs::create_directories(dir / "x");
    // README's own example with a folder that does not exist yet, and "." / ".." forms.
    for (const auto& [spelling, lands_in] : std::vector<std::pair<std::string, std::string>>{
             {"portraits/", "portraits"}, {"out/.", "out"}, {"x/..", "."}, {"deep/er/", "deep/er"},
             {"s_0.25", "s_0.25"}, {"run.v2", "run.v2"}}) {
        const auto r = run_shell("cd " + quote(dir.path()) + " && " + fast() + " photos/ -o " + spelling);
        EXPECT_EQ(r.exit_code, 0) << spelling << ": " << r.err;
        EXPECT_TRUE(fs::exists(dir / lands_in / "a.png")) << spelling;
        EXPECT_EQ(r.err.find("outside"), std::string::npos) << r.err;
        if (lands_in != ".") {
            EXPECT_EQ(read_json(dir / lands_in / "a.json")["output"]["path"], (fs::path(lands_in) / "a.png").string())
                << "output names are spelled plainly";
        }
    }
}

TEST(FirstHour, FileNamesThatAreNotUtf8AreProcessedAndRecordedLosslessly) {
    REQUIRE_MODELS();
    TempDir dir;
    const std::string latin1 = "caf\xe9 1987.jpg";  // Latin-1 e-acute: not UTF-8
    fs::create_directories(dir / "in");
    fs::copy_file(sample_photo(1), dir / "in" / latin1);
    const auto r = run_shell(fast() + " " + quote(dir / "in") + " -o " + quote(dir / "out") + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto records = ndjson(r.out);
    ASSERT_EQ(records.size(), 1u);
    const json& input = records[0]["input"];
    std::string hex;
    for (unsigned char c : (dir / "in" / latin1).string()) hex += hex_byte(c);
    EXPECT_EQ(input["path_hex"], hex);
    EXPECT_NE(input["path"].get<std::string>().find("caf\xef\xbf\xbd 1987.jpg"), std::string::npos);
    EXPECT_TRUE(fs::exists(dir / "out" / "caf\xe9 1987.png"));
    const json sidecar = read_json(dir / "out" / "caf\xe9 1987.json");
    EXPECT_EQ(sidecar["status"], "ok");
    EXPECT_TRUE(sidecar["output"].contains("path_hex"));
    // Without --json too, and a resume finds it done by its raw name.
    const auto again = run_shell(fast() + " " + quote(dir / "in") + " -o " + quote(dir / "out") + " --skip-existing");
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.err.find("1 skipped"), std::string::npos) << again.err;
}

TEST(FirstHour, NulSeparatedListsAndNulBytesInLineLists) {
    REQUIRE_MODELS();
    AIPORTRAIT_REQUIRE_FILE(sample_photo(2));
    TempDir dir;
    fs::create_directories(dir / "in");
    fs::copy_file(sample_photo(1), dir / "in/anna.jpg");
    fs::copy_file(sample_photo(2), dir / "in/ben.jpg");
    const std::string list = "printf '%s\\0' " + quote(dir / "in/anna.jpg") + " " + quote(dir / "in/ben.jpg");
    const auto lines = run_shell(list + " | " + fast() + " --files-from - -o " + quote(dir / "a"));
    EXPECT_EQ(lines.exit_code, 2) << "a NUL byte in a newline list is a usage error";
    EXPECT_NE(lines.err.find("--null"), std::string::npos) << lines.err;
    EXPECT_FALSE(fs::exists(dir / "a"));

    const auto nul = run_shell(list + " | " + fast() + " --files-from - -0 -o " + quote(dir / "b") + " --json");
    ASSERT_EQ(nul.exit_code, 0) << nul.err;
    ASSERT_EQ(ndjson(nul.out).size(), 2u);
    // Each portrait is named after its own photo.
    for (const char* name : {"anna", "ben"}) {
        const json s = read_json(dir / "b" / (std::string(name) + ".json"));
        EXPECT_EQ(fs::path(s["input"]["path"].get<std::string>()).stem(), name);
    }
}

TEST(FirstHour, SkipExistingRedoesAnInputWhosePhotoChanged) {
    REQUIRE_MODELS();
    AIPORTRAIT_REQUIRE_FILE(sample_photo(2));
    TempDir dir;
    fs::create_directories(dir / "in");
    fs::copy_file(sample_photo(1), dir / "in/a.jpg");
    const std::string run = fast() + " " + quote(dir / "in") + " -o " + quote(dir / "out") + " --skip-existing";
    ASSERT_EQ(run_shell(run).exit_code, 0);
    fs::copy_file(sample_photo(2), dir / "in/a.jpg", fs::copy_options::overwrite_existing);
    const auto again = run_shell(run);
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(again.err.find("skipped"), std::string::npos) << "a changed photo was kept as done: " << again.err;
    const std::string new_sha = run_shell("sha256sum " + quote(dir / "in/a.jpg") + " | cut -c1-64").out;
    EXPECT_EQ(read_json(dir / "out/a.json")["input"]["sha256"].get<std::string>() + "\n", new_sha);
}

TEST(FirstHour, SkipExistingChecksTheImageBelongsToItsSidecar) {
    REQUIRE_MODELS();
    TempDir dir;
    fs::create_directories(dir / "in");
    fs::copy_file(sample_photo(1), dir / "in/a.jpg");
    const std::string run = tool() + " --no-identity --threads 1 --model " +
                            quote(test_models_dir() / "strength_blur.pt") + " " + quote(dir / "in") + " -o " +
                            quote(dir / "out") + " --skip-existing";
    ASSERT_EQ(run_shell(run + " --strength 0.3").exit_code, 0);
    fs::copy_file(dir / "out/a.json", dir / "a-0.3.json");
    ASSERT_EQ(run_shell(run + " --strength 0.9").exit_code, 0);
    // A kill between the image's rename and the sidecar's: the 0.9 image beside the 0.3 sidecar.
    fs::copy_file(dir / "a-0.3.json", dir / "out/a.json", fs::copy_options::overwrite_existing);
    const auto resumed = run_shell(run + " --strength 0.3");
    EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(resumed.err.find("skipped"), std::string::npos) << "accepted another run's image: " << resumed.err;
    const std::string sha = run_shell("sha256sum " + quote(dir / "out/a.png") + " | cut -c1-64").out;
    EXPECT_EQ(read_json(dir / "out/a.json")["output"]["sha256"].get<std::string>() + "\n", sha);
}

TEST(FirstHour, EveryInputHasOneJsonRecordEvenWhenRefusedBeforeReading) {
    REQUIRE_MODELS();
    TempDir dir;
    fs::create_directories(dir / "in");
    fs::copy_file(sample_photo(1), dir / "in/a.jpg");
    fs::create_symlink(dir / "nowhere.jpg", dir / "in/dangling.jpg");
    ASSERT_EQ(run_shell("mkfifo " + quote(dir / "in/pipe.jpg")).exit_code, 0);
    const auto r = run_shell(fast() + " " + quote(dir / "in") + " " + quote(dir / "missing.jpg") + " -o " +
                             quote(dir / "out") + " --json");
    EXPECT_EQ(r.exit_code, 1);
    std::map<std::string, std::string> status;
    for (const json& rec : ndjson(r.out)) status[fs::path(rec["input"]["path"].get<std::string>()).filename()] = rec["status"];
    EXPECT_EQ(status.size(), 4u) << r.out;
    EXPECT_EQ(status["a.jpg"], "ok");
    for (const char* bad : {"dangling.jpg", "pipe.jpg", "missing.jpg"}) EXPECT_EQ(status[bad], "error") << bad;
    EXPECT_NE(r.err.find("4 inputs"), std::string::npos) << r.err;
}

TEST(FirstHour, StandardOutputThatCannotBeWrittenIsNotSuccess) {
    REQUIRE_MODELS();
    TempDir dir;
    const std::string run = fast() + " " + quote(sample_photo(1)) + " -o " + quote(dir / "p.png") + " --json";
    for (const std::string& redirect : {std::string(" > /dev/full"), std::string(" >&-")}) {
        const auto r = run_shell(run + redirect);
        EXPECT_EQ(r.exit_code, 1) << redirect << ": " << r.err;
        EXPECT_NE(r.err.find("standard output"), std::string::npos) << r.err;
    }
    // A dead pipe with SIGPIPE ignored (a parent that set SIG_IGN): EPIPE, said, not exit 0.
    const auto piped = run_shell("trap '' PIPE; " + run + " | true; exit ${PIPESTATUS[0]}");
    EXPECT_NE(piped.exit_code, 0) << piped.err;
}

TEST(FirstHour, NonFiniteNumbersAreUsageErrors) {
    REQUIRE_MODELS();
    TempDir dir;
    for (const char* option : {"--feather", "--strength", "--target-identity", "--detect-threshold"}) {
        for (const char* value : {"nan", "inf", "-inf"}) {
            const auto r = run_shell(fast() + " " + quote(sample_photo(1)) + " -o " + quote(dir / "p.png") + " " +
                                     option + " " + value);
            EXPECT_EQ(r.exit_code, 2) << option << " " << value << ": " << r.err;
            EXPECT_NE(r.err.find(option), std::string::npos) << r.err;
            EXPECT_FALSE(fs::exists(dir / "p.png")) << option << " " << value;
        }
    }
}

TEST(FirstHour, EndlessStandardInputIsRefusedFromItsFirstBytes) {
    REQUIRE_MODELS();
    TempDir dir;
    // `head -c` ends the stream at 1 GiB, so a tool that reads it all still finishes; it must
    // stop after the first bytes: `wc -c` counts what it left in the pipe.
    const long long total = 1ll << 30;
    const auto r = run_shell("head -c " + std::to_string(total) + " /dev/zero | { " + fast() + " - -o " +
                             quote(dir / "p.png") + "; echo \"rc=$?\" >&2; wc -c; }");
    EXPECT_NE(r.err.find("rc=1"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("not an image"), std::string::npos) << r.err;
    EXPECT_GT(std::stoll(r.out), total - (1 << 20)) << "the tool read " << total - std::stoll(r.out) << " bytes";
}

TEST(FirstHour, OutputKindIsDecidedFromTheNameBeforeAnyWork) {
    REQUIRE_MODELS();
    TempDir dir;
    for (const char* name : {"x.gif", "x.heic", "x.txt", "x.tif", "x.bmp"}) {
        const auto r = run_shell(fast() + " " + quote(sample_photo(1)) + " -o " + quote(dir / name));
        EXPECT_EQ(r.exit_code, 2) << name << ": " << r.err;
        EXPECT_NE(r.err.find("PNG"), std::string::npos) << r.err;
        EXPECT_FALSE(fs::exists(dir / name)) << name << " was created";
    }
}

TEST(FirstHour, SummaryCountsEveryInputAndNoRateWithoutPortraits) {
    REQUIRE_MODELS();
    TempDir dir;
    write_text(dir / "in/broken.jpg", "not a jpeg");
    write_text(dir / "in/also.jpg", "not a jpeg either");
    const auto r = run_shell(fast() + " " + quote(dir / "in") + " -o " + quote(dir / "out"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("2 inputs: 0 ok, 0 no face, 2 failed"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("/s)"), std::string::npos) << "a rate for a run that made nothing: " << r.err;
    fs::copy_file(sample_photo(1), dir / "in/a.jpg");
    run_shell(fast() + " " + quote(dir / "in") + " -o " + quote(dir / "out"));
    const auto resumed = run_shell(fast() + " " + quote(dir / "in") + " -o " + quote(dir / "out") + " --skip-existing");
    EXPECT_NE(resumed.err.find("3 inputs: 0 ok, 0 no face, 2 failed, 1 skipped"), std::string::npos) << resumed.err;
}

TEST(FirstHour, AFailedRerunRemovesTheEarlierRunsImage) {
    REQUIRE_MODELS();
    TempDir dir;
    fs::create_directories(dir / "in");
    fs::copy_file(sample_photo(1), dir / "in/a.jpg");
    ASSERT_EQ(run_shell(fast() + " " + quote(dir / "in") + " -o " + quote(dir / "out")).exit_code, 0);
    ASSERT_TRUE(fs::exists(dir / "out/a.png"));
    cv::imwrite((dir / "in/a.jpg").string(), cv::Mat(300, 300, CV_8UC3, cv::Scalar(90, 120, 150)));
    const auto r = run_shell(fast() + " " + quote(dir / "in") + " -o " + quote(dir / "out"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(read_json(dir / "out/a.json")["status"], "no_face");
    EXPECT_FALSE(fs::exists(dir / "out/a.png")) << "an earlier portrait beside a no_face sidecar";
}

TEST(FirstHour, TheSameFileListedTwiceIsDoneOnce) {
    REQUIRE_MODELS();
    TempDir dir;
    const auto r = run_shell(fast() + " " + quote(sample_photo(1)) + " " + quote(sample_photo(1)) + " -o " +
                             quote(dir / "out") + " --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ndjson(r.out).size(), 1u);
    EXPECT_NE(r.err.find("more than once"), std::string::npos) << r.err;
}

TEST(FirstHour, TargetIdentityOutOfReachIsSaid) {
    REQUIRE_MODELS();
    TempDir dir;
    const auto r = run_shell(tool() + " --threads 1 --model " + quote(test_models_dir() / "strength_blur.pt") + " " +
                             quote(sample_photo(1)) + " -o " + quote(dir / "p.png") + " --target-identity 1.5");
    EXPECT_NE(r.err.find("out of reach"), std::string::npos) << r.err;
    EXPECT_EQ(read_json(dir / "p.json")["faces"][0]["target_reached"], false);
}

TEST(FirstHour, TerminalsGetNoPngAndDumbTerminalsNoEscapeCodes) {
    REQUIRE_MODELS();
    AIPORTRAIT_REQUIRE_FILE("/usr/bin/script");
    TempDir dir;
    // script(1) gives the tool a terminal for stdout and stderr.
    const auto tty = run_shell("script -qec " + quote(fast() + " " + quote(sample_photo(1)) + " -o -") + " /dev/null");
    EXPECT_NE(tty.out.find("standard output is a terminal"), std::string::npos) << tty.out;
    EXPECT_EQ(tty.out.find("PNG"), std::string::npos) << "PNG bytes on a terminal";
    const auto dumb = run_shell("TERM=dumb script -qec " +
                                quote(fast() + " " + quote(sample_photo(1)) + " " + quote(sample_photo(1)) + " -o " +
                                      quote(dir / "out")) +
                                " /dev/null");
    EXPECT_EQ(dumb.out.find("\033["), std::string::npos) << "escape codes for TERM=dumb";
}

TEST(FirstHour, UsageErrorsCarryThePrefixAndHelpShowsOpenIntervals) {
    const auto r = run_shell(quote(binary()) + " --no-such-flag x.jpg -o y.png");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err.rfind("aiportrait: error: ", 0), 0u) << r.err;
    const auto help = run_shell(quote(binary()) + " --help");
    EXPECT_EQ(help.out.find("[0 - 1]"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("in (0, 1)"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("130"), std::string::npos) << "exit codes list the signal codes";
}

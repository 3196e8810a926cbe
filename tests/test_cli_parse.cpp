// Command line -> Config (cli.hpp) without running anything: options land in the Config, usage
// errors are exit 2, help and version exit 0.
#include "aiportrait/cli.hpp"
#include "aiportrait/detectors.hpp"
#include "aiportrait/face_check.hpp"

#include "testing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

using namespace aiportrait;

namespace {

Command parse(std::initializer_list<const char*> words) {
    std::vector<std::string> storage = {"aiportrait"};
    storage.insert(storage.end(), words.begin(), words.end());
    std::vector<char*> argv;
    for (std::string& s : storage) argv.push_back(s.data());
    return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST(CliParse, OptionsLandInTheConfig) {
    const Command c = parse({"a.jpg", "b.jpg", "-o", "out/", "--strength", "0.4", "--paste", "--files-from", "-",
                             "-0", "--detect-threshold", "0.3", "--shard", "2/5", "--format", "webp", "-q"});
    ASSERT_EQ(c.kind, Command::Kind::run);
    EXPECT_EQ(c.config.inputs, (std::vector<std::string>{"a.jpg", "b.jpg"}));
    EXPECT_EQ(c.config.output, "out/");
    EXPECT_DOUBLE_EQ(c.config.strength.value(), 0.4);
    EXPECT_EQ(c.config.kind, OutputKind::paste);
    EXPECT_TRUE(c.config.null_separated);
    EXPECT_DOUBLE_EQ(c.config.detect_threshold, 0.3);
    EXPECT_EQ(c.config.shard_index, 2);
    EXPECT_EQ(c.config.shard_count, 5);
    EXPECT_EQ(c.config.format, ImageFormat::webp);
    EXPECT_TRUE(c.config.quiet);
    EXPECT_FALSE(c.config.target_identity.has_value());
}

// Detector, format and device are parsed into enums at the boundary, from the tables that own
// the names (detectors.hpp, output.hpp), so no stage sees a word it has to judge.
TEST(CliParse, WordsBecomeEnumsFromTheTables) {
    const Command d = parse({"a.jpg", "-o", "p.png"});
    EXPECT_EQ(d.config.detector, DetectorChoice::automatic);
    EXPECT_EQ(d.config.device, Device::cpu);
    EXPECT_EQ(d.config.format, ImageFormat::png);
    const Command c = parse({"a.jpg", "-o", "out/", "--detector", "blazeface", "--device", "cuda", "--format", "jpg"});
    ASSERT_EQ(c.kind, Command::Kind::run);
    EXPECT_EQ(c.config.detector, DetectorChoice::blazeface);
    EXPECT_EQ(c.config.device, Device::cuda);
    EXPECT_EQ(c.config.format, ImageFormat::jpeg);
    EXPECT_EQ(parse({"a.jpg", "-o", "p.png", "--detector", "yunet"}).config.detector, DetectorChoice::yunet);
    // The identity command shares the detector option.
    EXPECT_EQ(parse({"identity", "a.jpg", "b.jpg", "--detector", "blazeface"}).config.detector,
              DetectorChoice::blazeface);
}

TEST(CliParse, StrengthZeroIsAStrengthNotTheDefault) {
    const Command c = parse({"a.jpg", "-o", "p.png", "--strength", "0"});
    ASSERT_TRUE(c.config.strength.has_value());
    EXPECT_EQ(*c.config.strength, 0.0);
    EXPECT_FALSE(parse({"a.jpg", "-o", "p.png"}).config.strength.has_value());
}

TEST(CliParse, UsageErrorsAreExitTwo) {
    for (const auto& words : std::vector<std::vector<const char*>>{
             {"a.jpg"},                                       // no -o
             {"a.jpg", "-o", "p.png", "--strength", "1.5"},   // out of range
             {"a.jpg", "-o", "p.png", "--strength", "nan"},   // not finite
             {"a.jpg", "-o", "p.png", "--feather", "0"},      // (0, 1]
             {"a.jpg", "-o", "p.png", "--shard", "3/2"},      // K > N
             {"a.jpg", "-o", "p.png", "--detector", "haar"},  // not a detector
             {"a.jpg", "-o", "p.png", "--device", "gpu"},     // not a device
             {"a.jpg", "-o", "p.png", "--device", "0"},       // an enum's number is not its name
             {"a.jpg", "-o", "out/", "--format", "tiff"},     // not a format we write
             {"a.jpg", "-o", "p.png", "--strength", "0.5", "--target-identity", "0.4"},
             {"a.jpg", "-o", "-", "--json"}}) {
        std::vector<std::string> storage = {"aiportrait"};
        storage.insert(storage.end(), words.begin(), words.end());
        std::vector<char*> argv;
        for (std::string& s : storage) argv.push_back(s.data());
        const Command c = parse_command_line(static_cast<int>(argv.size()), argv.data());
        EXPECT_EQ(c.kind, Command::Kind::exit) << words.back();
        EXPECT_EQ(c.exit_code, 2) << words.back();
    }
}

TEST(CliParse, HelpExitsZeroVersionAndGalleryAreCommands) {
    const Command help = parse({"--help"});
    EXPECT_EQ(help.kind, Command::Kind::exit);
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_EQ(parse({"--version"}).kind, Command::Kind::version);
    const Command g = parse({"gallery", "portraits/"});
    EXPECT_EQ(g.kind, Command::Kind::gallery);
    EXPECT_EQ(g.photos, (std::vector<std::string>{"portraits/"}));
    EXPECT_EQ(parse({"gallery"}).exit_code, 2);
    EXPECT_TRUE(parse({"in/", "-o", "out/", "--gallery"}).config.gallery);
}

TEST(CliParse, IdentityCommandTakesTwoPhotos) {
    const Command c = parse({"identity", "a.jpg", "b.jpg"});
    EXPECT_EQ(c.kind, Command::Kind::identity);
    EXPECT_EQ(c.photos, (std::vector<std::string>{"a.jpg", "b.jpg"}));
    EXPECT_EQ(parse({"identity", "a.jpg"}).exit_code, 2);
}

// --detector's names and model files are the detector table's; the shell scripts that fetch and
// use the models (scripts/model_files.sh) must name the same files.
TEST(CliParse, ShellScriptsNameTheDetectorTablesFiles) {
    const std::string text = aiportrait::testing::read_text(aiportrait::testing::source_dir() / "scripts" / "model_files.sh");
    for (const DetectorEntry& e : detector_table())
        EXPECT_NE(text.find(std::string(e.name) + "_file=" + e.model_file + "\n"), std::string::npos)
            << e.name << ": " << e.model_file << " is not in scripts/model_files.sh";
    EXPECT_NE(text.find(std::string("face_check_file=") + kFaceCheckModelFile + "\n"), std::string::npos)
        << kFaceCheckModelFile << " is not in scripts/model_files.sh";
}

// The man page states each numeric option's default and range as options.hpp defines them (the
// install check holds it to every option --help prints).
// The man page and README's options table state each default and range of options.hpp: a
// changed default fails here until both say it.
TEST(CliParse, ManPageAndReadmeStateEveryDefaultAndRange) {
    using aiportrait::testing::read_text;
    using aiportrait::testing::source_dir;
    std::string man = read_text(source_dir() / "doc" / "aiportrait.1.in");
    // troff's "\-" is "-" and "\(mu" is "x"; lines joined, so a phrase may wrap.
    for (const auto& [from, to] : {std::pair{"\\-", "-"}, std::pair{"\\(mu", "x"}})
        for (std::size_t at; (at = man.find(from)) != std::string::npos;) man.replace(at, std::strlen(from), to);
    std::replace(man.begin(), man.end(), '\n', ' ');
    auto man_entry = [&](const std::string& flag) {
        const std::size_t at = man.find(".BI " + flag + " ");
        return at == std::string::npos ? std::string() : man.substr(at, man.find(".TP", at) - at);
    };
    // README's table row that names the flag (`--flag` or `--flag VALUE` in its first cell).
    const std::string readme = read_text(source_dir() / "README.md");
    auto readme_row = [&](const std::string& flag) {
        std::istringstream lines(readme);
        for (std::string line; std::getline(lines, line);) {
            const std::string first_cell = line.substr(0, line.find(" | ", 2));
            if (line.rfind("| `", 0) == 0 &&
                (first_cell.find("`" + flag + "`") != std::string::npos || first_cell.find("`" + flag + " ") != std::string::npos))
                return line;
        }
        return std::string();
    };
    using namespace defaults;
    struct Stated {
        std::string flag;
        std::vector<std::string> in_man, in_readme;
    };
    const std::string batches = fmt::format("{} on cpu, {} on cuda", batch_cpu, batch_cuda);
    const std::vector<Stated> stated = {
        {"--detect-threshold", {fmt::format("default {}", detect_threshold), to_string(detect_threshold_range)},
         {fmt::format("in {} ({})", to_string(detect_threshold_range), detect_threshold)}},
        {"--detect-max-side", {fmt::format("default {}", detect_max_side), fmt::format("at least {}", detect_max_side_least)},
         {fmt::format("({}, at least {}; 0 = full size)", detect_max_side, detect_max_side_least)}},
        {"--min-face", {fmt::format("default {}", min_face), fmt::format("0 to {}", min_face_most)},
         {fmt::format("({}; 0 to {}, 0 = no minimum)", min_face, min_face_most)}},
        {"--max-pixels", {fmt::format("default {}", max_pixels)}, {fmt::format("({} MP; 0 = no limit)", max_pixels / 1'000'000)}},
        {"--feather", {fmt::format("default {}", feather), to_string(feather_range)},
         {fmt::format("in {} ({})", to_string(feather_range), feather)}},
        {"--grain", {fmt::format("default {}", grain), to_string(grain_range)},
         {fmt::format("in {} ({})", to_string(grain_range), grain)}},
        {"--strength", {to_string(strength_range)}, {fmt::format("in {},", to_string(strength_range))}},
        {"--target-identity", {to_string(target_identity_range)}, {fmt::format("D in {}", to_string(target_identity_range))}},
        {"--batch", {fmt::format("1 to {}", batch_most), "default " + batches}, {fmt::format("1 to {} ({})", batch_most, batches)}},
        {"--threads", {fmt::format("at most {} x the cores", threads_per_core_most)},
         {fmt::format("at most {} × the cores", threads_per_core_most)}},
    };
    for (const Stated& s : stated) {
        const std::string entry = man_entry(s.flag), row = readme_row(s.flag);
        ASSERT_FALSE(entry.empty()) << s.flag << " is not in the man page";
        ASSERT_FALSE(row.empty()) << s.flag << " is not in README's options table";
        for (const std::string& phrase : s.in_man)
            EXPECT_NE(entry.find(phrase), std::string::npos) << s.flag << ": the man page does not say '" << phrase << "':\n" << entry;
        for (const std::string& phrase : s.in_readme)
            EXPECT_NE(row.find(phrase), std::string::npos) << s.flag << ": README does not say '" << phrase << "':\n" << row;
    }
}

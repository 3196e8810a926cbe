// Command line -> Config (cli.hpp) without running anything: options land in the Config, usage
// errors are exit 2, help and version exit 0.
#include "aiportrait/cli.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
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
    EXPECT_EQ(c.config.format, "webp");
    EXPECT_TRUE(c.config.quiet);
    EXPECT_FALSE(c.config.target_identity.has_value());
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

TEST(CliParse, HelpAndVersionExitZero) {
    for (const char* flag : {"--help", "--version"}) {
        const Command c = parse({flag});
        EXPECT_EQ(c.kind, Command::Kind::exit) << flag;
        EXPECT_EQ(c.exit_code, 0) << flag;
    }
}

TEST(CliParse, IdentityCommandTakesTwoPhotos) {
    const Command c = parse({"identity", "a.jpg", "b.jpg"});
    EXPECT_EQ(c.kind, Command::Kind::identity);
    EXPECT_EQ(c.photos, (std::vector<std::string>{"a.jpg", "b.jpg"}));
    EXPECT_EQ(parse({"identity", "a.jpg"}).exit_code, 2);
}

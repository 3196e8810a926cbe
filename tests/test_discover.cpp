#include "aiportrait/discover.hpp"

#include "testing.hpp"

#include <map>
#include <set>

#include <sys/stat.h>

using namespace aiportrait;
using namespace aiportrait::testing;

namespace {

Config with(std::vector<std::string> inputs, std::string output) {
    Config c;
    c.inputs = std::move(inputs);
    c.output = std::move(output);
    return c;
}

}  // namespace

TEST(Discover, SingleFileToFileWithSidecarBeside) {
    TempDir dir;
    write_text(dir / "in.jpg", "x");
    const Discovery d = discover(with({(dir / "in.jpg").string()}, (dir / "out/portrait.png").string()));
    ASSERT_EQ(d.jobs.size(), 1u);
    EXPECT_EQ(d.jobs[0].output, (dir / "out/portrait.png").string());
    EXPECT_EQ(d.jobs[0].sidecar, (dir / "out/portrait.json").string());
}

TEST(Discover, PhotosInUnreadableFormatsAreCountedNotSilentlyDropped) {
    TempDir dir;
    for (const char* f : {"a.jpg", "b/IMG_1.HEIC", "b/IMG_2.heic", "c.gif", "notes.txt"}) write_text(dir / "in" / f, "x");
    const Discovery d = discover(with({(dir / "in").string()}, (dir / "out").string()));
    ASSERT_EQ(d.jobs.size(), 1u);
    ASSERT_EQ(d.warnings.size(), 1u);
    const std::string& w = d.warnings[0];
    EXPECT_NE(w.find("left out 3 files"), std::string::npos) << w;
    EXPECT_NE(w.find(".heic 2"), std::string::npos) << w;
    EXPECT_NE(w.find(".gif 1"), std::string::npos) << w;
    // A folder with only readable photos and other files: nothing to say.
    TempDir clean;
    for (const char* f : {"a.jpg", "notes.txt"}) write_text(clean / "in" / f, "x");
    EXPECT_TRUE(discover(with({(clean / "in").string()}, (clean / "out").string())).warnings.empty());
}

TEST(Discover, FolderIsWalkedSortedAndMirrored) {
    TempDir dir;
    for (const char* f : {"b/2.JPG", "a.png", "b/1.jpeg", "b/c/3.webp", "notes.txt", "b/readme.md"})
        write_text(dir / "in" / f, "x");
    const Discovery d = discover(with({(dir / "in").string()}, (dir / "out").string()));
    ASSERT_EQ(d.jobs.size(), 4u);
    EXPECT_EQ(d.jobs[0].output, (dir / "out/a.png").string());
    EXPECT_EQ(d.jobs[1].output, (dir / "out/b/1.png").string());
    EXPECT_EQ(d.jobs[2].output, (dir / "out/b/2.png").string());
    EXPECT_EQ(d.jobs[3].output, (dir / "out/b/c/3.png").string());
    EXPECT_EQ(d.jobs[3].sidecar, (dir / "out/b/c/3.json").string());
    EXPECT_TRUE(d.warnings.empty());
}

TEST(Discover, CollisionsWarnAndGetDistinctNames) {
    TempDir dir;
    write_text(dir / "in/a.jpg", "x");
    write_text(dir / "in/a.png", "x");
    const Discovery d = discover(with({(dir / "in").string()}, (dir / "out").string()));
    ASSERT_EQ(d.jobs.size(), 2u);
    EXPECT_NE(d.jobs[0].output, d.jobs[1].output);
    ASSERT_EQ(d.warnings.size(), 1u);
    EXPECT_NE(d.warnings[0].find("a.png"), std::string::npos) << d.warnings[0];
}

TEST(Discover, RefusesToOverwriteAnInput) {
    TempDir dir;
    write_text(dir / "in/a.png", "x");
    const Discovery d = discover(with({(dir / "in").string()}, (dir / "in").string()));
    EXPECT_TRUE(d.jobs.empty());
    ASSERT_EQ(d.rejected.size(), 1u);
    EXPECT_NE(d.rejected[0].reason.find("overwrite"), std::string::npos);

    const Discovery single = discover(with({(dir / "in/a.png").string()}, (dir / "in/a.png").string()));
    EXPECT_TRUE(single.jobs.empty());
    EXPECT_EQ(single.rejected.size(), 1u);
}

TEST(Discover, OutputFolderInsideInputIsNotWalked) {
    TempDir dir;
    write_text(dir / "in/a.jpg", "x");
    write_text(dir / "in/out/old.png", "x");  // a previous run's output
    const Discovery d = discover(with({(dir / "in").string()}, (dir / "in/out").string()));
    ASSERT_EQ(d.jobs.size(), 1u);
    EXPECT_EQ(d.jobs[0].input, (dir / "in/a.jpg").string());
}

TEST(Discover, MissingInputIsRejectedOthersGoOn) {
    TempDir dir;
    write_text(dir / "a.jpg", "x");
    const Discovery d = discover(with({(dir / "a.jpg").string(), (dir / "missing.jpg").string()}, (dir / "out").string()));
    EXPECT_EQ(d.jobs.size(), 1u);
    ASSERT_EQ(d.rejected.size(), 1u);
    EXPECT_EQ(d.rejected[0].input, (dir / "missing.jpg").string());
}

TEST(Discover, SymlinkLoopsDoNotHang) {
    TempDir dir;
    write_text(dir / "in/sub/a.jpg", "x");
    fs::create_directory_symlink(dir / "in", dir / "in/sub/loop");
    const Discovery d = discover(with({(dir / "in").string()}, (dir / "out").string()));
    EXPECT_EQ(d.jobs.size(), 1u);
}

TEST(Discover, FilesFromAndStandardStreamsRules) {
    TempDir dir;
    write_text(dir / "a.jpg", "x");
    write_text(dir / "b.jpg", "x");
    write_text(dir / "list.txt", (dir / "a.jpg").string() + "\n\n" + (dir / "b.jpg").string() + "\r\n");
    Config c = with({}, (dir / "out").string());
    c.files_from = (dir / "list.txt").string();
    EXPECT_EQ(discover(c).jobs.size(), 2u);

    EXPECT_THROW(discover(with({"-"}, (dir / "out").string())), std::invalid_argument);
    EXPECT_THROW(discover(with({(dir / "a.jpg").string(), (dir / "b.jpg").string()}, "-")), std::invalid_argument);
    const Discovery piped = discover(with({"-"}, "-"));
    ASSERT_EQ(piped.jobs.size(), 1u);
    EXPECT_TRUE(piped.jobs[0].sidecar.empty());
    EXPECT_THROW(discover(with({}, "x.png")), std::invalid_argument);
}

TEST(Discover, ShardsAreDisjointAndCoverEverything) {
    TempDir dir;
    for (int i = 0; i < 60; ++i) write_text(dir / "in" / ("d" + std::to_string(i % 7)) / ("p" + std::to_string(i) + ".jpg"), "x");
    write_text(dir / "in/a.jpg", "x");
    write_text(dir / "in/a.png", "x");  // a collision: both shards must name it the same way
    Config all = with({(dir / "in").string()}, (dir / "out").string());
    const Discovery everything = discover(all);
    for (const int n : {1, 2, 3, 7}) {
        std::map<std::string, std::string> seen;  // input -> output
        std::size_t total = 0;
        for (int k = 1; k <= n; ++k) {
            Config c = all;
            c.shard_index = k;
            c.shard_count = n;
            const Discovery part = discover(c);
            total += part.jobs.size();
            if (n > 1) EXPECT_LT(part.jobs.size(), everything.jobs.size()) << k << "/" << n;
            for (const Job& j : part.jobs) EXPECT_TRUE(seen.emplace(j.input, j.output).second) << j.input << " in two shards";
            EXPECT_EQ(discover(c).jobs.size(), part.jobs.size()) << "deterministic";
        }
        EXPECT_EQ(total, everything.jobs.size()) << n;
        for (const Job& j : everything.jobs) EXPECT_EQ(seen[j.input], j.output) << "same output name in every shard";
    }
}

TEST(Discover, LinksThatLeadNowhereAndPipesAreRejectedNotSkipped) {
    TempDir dir;
    write_text(dir / "in/a.jpg", "x");
    fs::create_symlink("missing.jpg", dir / "in/dangling.jpg");
    fs::create_symlink("self.jpg", dir / "in/self.jpg");
    fs::create_symlink("a.jpg", dir / "in/alias.jpg");  // a link to a real photo is a photo
    ASSERT_EQ(::mkfifo((dir / "in/pipe.png").c_str(), 0644), 0);
    write_text(dir / "in/notes.txt", "x");
    const Discovery d = discover(with({(dir / "in").string()}, (dir / "out").string()));
    ASSERT_EQ(d.jobs.size(), 2u);
    std::map<std::string, std::string> reasons;
    for (const RejectedInput& r : d.rejected) reasons[fs::path(r.input).filename().string()] = r.reason;
    ASSERT_EQ(reasons.size(), 3u);
    EXPECT_NE(reasons["dangling.jpg"].find("leads nowhere"), std::string::npos);
    EXPECT_NE(reasons["self.jpg"].find("leads nowhere"), std::string::npos);
    EXPECT_NE(reasons["pipe.png"].find("not a regular file"), std::string::npos);
}

TEST(Discover, ShardsDoNotDependOnHowTheFolderIsSpelled) {
    TempDir dir;
    for (int i = 0; i < 40; ++i) write_text(dir / "faces" / ("p" + std::to_string(i) + ".jpg"), "x");
    const fs::path before = fs::current_path();
    fs::current_path(dir.path());
    std::set<std::string> first, second;
    for (const std::string& spelling : {std::string("faces"), std::string("./faces/"), (dir / "faces").string()}) {
        Config a = with({"faces"}, "out"), b = with({spelling}, "out");
        a.shard_index = 1;
        b.shard_index = 2;
        a.shard_count = b.shard_count = 2;
        std::set<std::string> names;
        for (const Job& j : discover(a).jobs) names.insert(fs::path(j.output).filename());
        for (const Job& j : discover(b).jobs)
            EXPECT_TRUE(names.insert(fs::path(j.output).filename()).second) << spelling << ": in both shards";
        EXPECT_EQ(names.size(), 40u) << spelling << ": shards left inputs out";
    }
    fs::current_path(before);
}

TEST(Discover, FilesFromReadsNulSeparatedListsAndRefusesNulInLineLists) {
    TempDir dir;
    write_text(dir / "a b.jpg", "x");
    write_text(dir / "c\nd.jpg", "x");  // a newline in a name: only a NUL list can carry it
    write_text(dir / "list0", (dir / "a b.jpg").string() + std::string(1, '\0') + (dir / "c\nd.jpg").string() +
                                  std::string(1, '\0'));
    Config c = with({}, (dir / "out").string());
    c.files_from = (dir / "list0").string();
    EXPECT_THROW(discover(c), std::invalid_argument);
    c.null_separated = true;
    const Discovery d = discover(c);
    ASSERT_EQ(d.jobs.size(), 2u);
    EXPECT_EQ(fs::path(d.jobs[1].input).filename(), "c\nd.jpg");
}

#include "aiportrait/sidecar.hpp"

#include "testing.hpp"

using namespace aiportrait;

TEST(Sidecar, RecordCarriesEverythingTheSchemaPromises) {
    InputRecord r;
    r.input = "photos/a.jpg";
    r.input_sha256 = std::string(64, 'a');
    r.width = 640;
    r.height = 480;
    r.exif_orientation = 6;
    r.output = "out/a.png";
    r.output_width = r.output_height = 256;
    r.status = Status::ok;
    FaceRecord f;
    f.face.score = 0.93f;
    f.face.box = {10, 20, 100, 120};
    f.face.landmarks[kNose] = {60.25f, 80.5f};
    f.used = true;
    f.alignment = cv::Matx23d(1, 0, 2, 0, 1, 3);
    f.crop_size = 256;
    f.identity_distance = 0.4567;
    f.strength = 0.5;
    r.faces = {f, FaceRecord{}};
    r.timings.add("detect", 12.5);
    r.timings.add("generate", 30);
    r.timings.add("detect", 1.5);
    RunInfo run;
    run.tool_version = "9.9.9";
    run.parameters = {{"strength", 0.5}};

    const nlohmann::json j = make_record(r, run);
    EXPECT_EQ(j["schema_version"], kSidecarSchemaVersion);
    EXPECT_EQ(j["tool"]["version"], "9.9.9");
    EXPECT_EQ(j["status"], "ok");
    EXPECT_TRUE(j["error"].is_null());
    EXPECT_EQ(j["input"]["exif_orientation"], 6);
    EXPECT_EQ(j["input"]["exif_orientation_applied"], true);
    EXPECT_EQ(j["output"]["kind"], "portrait");
    ASSERT_EQ(j["faces"].size(), 2u);
    EXPECT_EQ(j["faces"][0]["used"], true);
    EXPECT_EQ(j["faces"][0]["alignment_matrix"][1][2], 3.0);
    EXPECT_EQ(j["faces"][0]["landmarks"]["nose"][0], 60.25);
    EXPECT_EQ(j["faces"][0]["identity_distance"], 0.4567);
    EXPECT_FALSE(j["faces"][1].contains("alignment_matrix"));
    EXPECT_DOUBLE_EQ(j["timings_ms"]["detect"].get<double>(), 14.0);
    EXPECT_DOUBLE_EQ(j["timings_ms"]["total"].get<double>(), 44.0);
}

TEST(Sidecar, FailedInputHasNoOutputAndAnError) {
    InputRecord r;
    r.input = "bad.jpg";
    r.status = Status::error;
    r.error = "not an image";
    const nlohmann::json j = make_record(r, RunInfo{});
    EXPECT_EQ(j["status"], "error");
    EXPECT_EQ(j["error"], "not an image");
    EXPECT_TRUE(j["output"].is_null());
    EXPECT_TRUE(j["input"]["sha256"].is_null());
}

TEST(Sidecar, NumbersPrintWithoutBinaryNoise) {
    InputRecord r;
    r.input = "a.jpg";
    r.exif_orientation = 1;
    r.status = Status::ok;
    FaceRecord f;
    f.face.box = {228.2f, 10.3f, 99.7f, 101.1f};
    f.used = true;
    f.strength = 0.3;
    r.faces = {f};
    RunInfo run;
    run.detector = {{"score_threshold", 0.3}};  // stored as double: 0.3, not 0.30000001192092896
    const std::string text = dump_record(make_record(r, run));
    EXPECT_NE(text.find("\"x\":228.2,"), std::string::npos) << text;
    EXPECT_NE(text.find("\"y\":10.3}"), std::string::npos) << text;
    EXPECT_NE(text.find("\"strength\":0.3"), std::string::npos) << text;
    EXPECT_EQ(text.find("0000000"), std::string::npos) << text;
}

TEST(Sidecar, NeverDecodedInputsHaveNullsNotPlaceholders) {
    InputRecord r;
    r.input = "empty.jpg";
    r.error = "empty file (0 bytes)";
    const nlohmann::json j = make_record(r, RunInfo{});
    EXPECT_TRUE(j["input"]["exif_orientation"].is_null());
    EXPECT_TRUE(j["input"]["format"].is_null());
    EXPECT_TRUE(j["input"]["width"].is_null());
    EXPECT_EQ(j["input"]["exif_orientation_applied"], false);
}

TEST(Sidecar, AllFacesNamesTheFilesItWrote) {
    InputRecord r;
    r.input = "group.jpg";
    r.exif_orientation = 1;
    r.kind = OutputKind::all_faces;
    r.output = "out/group.png";
    r.status = Status::ok;
    FaceRecord a, b;
    a.used = b.used = true;
    a.output_path = "out/group_face1.png";
    b.output_path = "out/group_face2.png";
    r.faces = {a, b};
    const nlohmann::json j = make_record(r, RunInfo{});
    EXPECT_TRUE(j["output"]["path"].is_null()) << "no file is called out/group.png";
    EXPECT_EQ(j["output"]["paths"], nlohmann::json({"out/group_face1.png", "out/group_face2.png"}));
}

TEST(Sidecar, PathsThatAreNotUtf8AreKeptLosslessly) {
    InputRecord r;
    r.input = "caf\xe9.jpg";
    r.error = "cannot open 'caf\xe9.jpg'";  // error lines may quote the raw name too
    const nlohmann::json j = make_record(r, RunInfo{});
    const std::string text = dump_record(j);  // never throws
    const nlohmann::json back = nlohmann::json::parse(text);
    EXPECT_EQ(back["input"]["path"], "caf\xef\xbf\xbd.jpg");
    EXPECT_EQ(back["input"]["path_hex"], "636166e92e6a7067");
    EXPECT_EQ(recorded_path(back["input"]), r.input);
    // Valid UTF-8 names stay as they are, with no hex beside them.
    r.input = "Zo\xc3\xab.jpg";
    const nlohmann::json ok = make_record(r, RunInfo{});
    EXPECT_EQ(ok["input"]["path"], r.input);
    EXPECT_FALSE(ok["input"].contains("path_hex"));
}

TEST(Sidecar, OutputsIfDoneMatchesSettingsAndBytes) {
    InputRecord r;
    r.input = "a.jpg";
    r.input_sha256 = std::string(64, 'a');
    r.exif_orientation = 1;
    r.output = "out/a.png";
    r.output_sha256 = std::string(64, 'b');
    r.status = Status::ok;
    RunInfo run;
    run.generator = {{"sha256", "g"}, {"path", "/here/g.pt"}};
    run.detector = {{"name", "yunet"}, {"model_path", "/here/y.onnx"}, {"min_face", 40}};
    run.parameters = {{"strength", 0.5}, {"threads", 2}, {"batch", 4}};
    const nlohmann::json record = make_record(r, run);

    RunInfo elsewhere = run;  // another machine: other paths, threads and batch
    elsewhere.detector["model_path"] = "/there/y.onnx";
    elsewhere.parameters["threads"] = 16;
    elsewhere.parameters["batch"] = 1;
    const auto outputs = outputs_if_done(record, elsewhere, r.input_sha256);
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_EQ(outputs[0].path, "out/a.png");
    EXPECT_EQ(outputs[0].sha256, r.output_sha256);

    EXPECT_TRUE(outputs_if_done(record, run, std::string(64, 'c')).empty()) << "other input bytes";
    RunInfo other = run;
    other.parameters["strength"] = 0.6;
    EXPECT_TRUE(outputs_if_done(record, other, r.input_sha256).empty()) << "other strength";
    other = run;
    other.detector["min_face"] = 20;
    EXPECT_TRUE(outputs_if_done(record, other, r.input_sha256).empty()) << "other detector setting";
    EXPECT_TRUE(outputs_if_done(nlohmann::json::parse("{\"status\": \"ok\", \"output\": 3}"), run, "").empty());
}

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

namespace {

// An --all-faces record of NAME.jpg whose two faces were written as out/NAME_face1.png and 2.
InputRecord all_faces_record(const std::string& name) {
    InputRecord r;
    r.input = name + ".jpg";
    r.exif_orientation = 1;
    r.kind = OutputKind::all_faces;
    r.output = "out/" + name + ".png";
    r.status = Status::ok;
    FaceRecord a, b;
    a.used = b.used = true;
    a.output_path = "out/" + name + "_face1.png";
    b.output_path = "out/" + name + "_face2.png";
    r.faces = {a, b};
    return r;
}

}  // namespace

TEST(Sidecar, AllFacesNamesTheFilesItWrote) {
    const InputRecord r = all_faces_record("group");
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
    run.detector = {{"name", "yunet"}, {"model_path", "/here/y.onnx"}, {"min_face", 40},
                    {"face_check", {{"model_path", "/here/c.onnx"}, {"model_sha256", "c"}, {"confirm_score", 0.8}}}};
    run.parameters = {{"strength", 0.5}, {"threads", 2}, {"batch", 4}};
    const StoredRecord record = *parse_record(make_record(r, run));

    RunInfo elsewhere = run;  // another machine: other paths, threads and batch
    elsewhere.detector["model_path"] = "/there/y.onnx";
    elsewhere.detector["face_check"]["model_path"] = "/there/c.onnx";
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
    other = run;
    other.detector["face_check"]["model_sha256"] = "d";
    EXPECT_TRUE(outputs_if_done(record, other, r.input_sha256).empty()) << "another face-check model";
    other.detector["face_check"] = nullptr;
    EXPECT_TRUE(outputs_if_done(record, other, r.input_sha256).empty()) << "no face check";
    EXPECT_TRUE(
        outputs_if_done(*parse_record(nlohmann::json::parse(R"({"schema": "aiportrait.sidecar", "status": "ok", "output": 3})")),
                        run, "")
            .empty());
}

// read_record gives back what make_record wrote (raw path bytes included), and is lenient with
// what older versions, failed inputs and hand edits leave; JSON of another schema is no record.
TEST(Sidecar, ReadRecordGivesBackWhatWasWritten) {
    InputRecord r = all_faces_record("caf\xe9");
    r.input_sha256 = std::string(64, 'a');
    r.faces[0].output_sha256 = std::string(64, 'b');
    r.faces[0].identity_distance = 0.25;
    r.faces[1].strength = 0.5;
    r.faces.push_back(FaceRecord{});
    RunInfo run;
    run.working_directory = "/home/me";
    run.generator = {{"name", "g"}, {"version", "1.0"}, {"sha256", "s"}};
    aiportrait::testing::TempDir dir;
    aiportrait::testing::write_text(dir / "x.json", dump_record(make_record(r, run), 2));
    const std::optional<StoredRecord> back = read_record((dir / "x.json").string());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->status, "ok");
    EXPECT_EQ(back->input, r.input);
    EXPECT_EQ(back->input_sha256, r.input_sha256);
    EXPECT_EQ(back->kind, "all_faces");
    EXPECT_EQ(back->output, "") << "--all-faces writes no file of the main name";
    ASSERT_EQ(back->faces.size(), 3u);
    EXPECT_EQ(back->faces[0].identity_distance, 0.25);
    EXPECT_EQ(back->faces[1].strength, 0.5);
    EXPECT_FALSE(back->faces[2].used);
    ASSERT_EQ(back->outputs.size(), 2u);
    EXPECT_EQ(back->outputs[0].path, "out/caf\xe9_face1.png");
    EXPECT_EQ(back->outputs[0].sha256, r.faces[0].output_sha256);
    EXPECT_TRUE(back->outputs[1].per_face);
    EXPECT_EQ(back->model_name + " " + back->model_version + " " + back->model_sha256, "g 1.0 s");
    EXPECT_EQ(resolve_recorded(*back, "in/a.jpg"), "/home/me/in/a.jpg");
    EXPECT_EQ(written_outputs(r), (std::vector<std::string>{"out/caf\xe9_face1.png", "out/caf\xe9_face2.png"}));

    const auto sparse = parse_record(nlohmann::json::parse(
        R"({"schema": "aiportrait.sidecar", "error": 7, "input": {"sha256": null}, "faces": "none"})"));
    ASSERT_TRUE(sparse);
    EXPECT_EQ(sparse->status, "error");
    EXPECT_EQ(sparse->error, "");
    EXPECT_EQ(sparse->kind, "portrait");
    EXPECT_TRUE(sparse->faces.empty());
    EXPECT_FALSE(parse_record(nlohmann::json::parse(R"({"schema": "aiportrait.run", "status": "ok"})")));
    EXPECT_FALSE(read_record((dir / "missing.json").string()));
}

// Where each used face's crop came from reads back whole, so the crop can be cut again (the
// identity command does); a record missing any part of it, or holding nonsense, gives none.
TEST(Sidecar, ReadRecordGivesBackWhereEachCropCameFrom) {
    InputRecord r = all_faces_record("a");
    r.faces[1].face.landmarks[kMouthR] = {70.5f, 90.25f};
    r.faces[1].alignment = cv::Matx23d(0.5, -0.25, 10, 0.25, 0.5, -20);
    r.faces[1].crop_size = 512;
    r.faces[1].photo_scale_denom = 4;
    const nlohmann::json j = make_record(r, RunInfo{});
    EXPECT_EQ(j["faces"][1]["photo_scale_denom"], 4);
    const StoredFace face = parse_record(j)->faces[1];
    EXPECT_EQ(face.crop_size, 512);
    EXPECT_EQ(face.photo_scale_denom, 4);
    EXPECT_EQ(face.alignment, r.faces[1].alignment);
    EXPECT_EQ(face.landmarks[kMouthR], cv::Point2f(70.5f, 90.25f));

    nlohmann::json older = j;  // records before photo_scale_denom: the full-size photo
    older["faces"][1].erase("photo_scale_denom");
    EXPECT_EQ(parse_record(older)->faces[1].photo_scale_denom, 1);
    EXPECT_EQ(parse_record(older)->faces[1].crop_size, 512);
    for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
             {"photo_scale_denom", 3}, {"crop_size", -1}, {"alignment_matrix", {{1, 0, 0}}}, {"landmarks", "none"}}) {
        nlohmann::json broken = j;
        broken["faces"][1][key] = value;
        EXPECT_EQ(parse_record(broken)->faces[1].crop_size, 0) << key;
    }
}

// record_naming finds the sidecar that names an image as its output, by file name, also for
// --all-faces' NAME_faceN files; an image no sidecar names has none.
TEST(Sidecar, RecordNamingFindsTheSidecarBesideAnOutput) {
    aiportrait::testing::TempDir dir;
    InputRecord r = all_faces_record("x");
    aiportrait::testing::write_text(dir / "out" / "x.json", dump_record(make_record(r, RunInfo{})));
    const std::optional<StoredRecord> found = record_naming((dir / "out" / "x_face2.png").string());
    ASSERT_TRUE(found);
    EXPECT_EQ(found->kind, "all_faces");
    EXPECT_FALSE(record_naming((dir / "out" / "x_face3.png").string())) << "the sidecar names two faces";
    EXPECT_FALSE(record_naming((dir / "out" / "x.png").string())) << "--all-faces writes no x.png";
    EXPECT_FALSE(record_naming((dir / "out" / "y.png").string()));
}

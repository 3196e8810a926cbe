// Writes the awkward corpus (tests/awkward.hpp) into a folder, with MANIFEST.tsv saying what
// aiportrait must make of each file:
//
//   make_awkward_corpus FACE_PHOTO OUT_DIR [--small]
//
// --small writes every image at most 64 px and no file-system oddities: the seeds scripts/fuzz.sh
// starts from. The CLI hardening test builds the same corpus in-process at test time.
#include "awkward.hpp"

#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    if (argc < 3 || (argc == 4 && std::string(argv[3]) != "--small") || argc > 4) {
        std::cerr << "usage: make_awkward_corpus FACE_PHOTO OUT_DIR [--small]\n";
        return 2;
    }
    const cv::Mat face = cv::imread(argv[1], cv::IMREAD_COLOR);
    if (face.empty()) {
        std::cerr << "make_awkward_corpus: cannot read " << argv[1] << "\n";
        return 1;
    }
    const bool small = argc == 4;
    const std::filesystem::path dir = argv[2];
    try {
        const auto entries = aiportrait::awkward::make_corpus(face, dir, small);
        if (!small) {
            std::ofstream manifest(dir / "MANIFEST.tsv");
            manifest << "path\texpect\treason\tformat\texif_orientation\n";
            for (const auto& e : entries)
                manifest << e.path << '\t' << e.expect << (e.any_face_status ? " (or no_face)" : "") << '\t' << e.reason
                         << '\t' << e.format << '\t' << e.orientation << '\n';
        }
        std::cerr << "make_awkward_corpus: wrote " << entries.size() << " files to " << dir.string() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "make_awkward_corpus: " << e.what() << "\n";
        return 1;
    }
    return 0;
}

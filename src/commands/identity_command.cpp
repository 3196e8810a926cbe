// `aiportrait identity A B`: the identity distance between the largest faces of two photos.
#include "aiportrait/commands.hpp"

#include "aiportrait/decode.hpp"
#include "aiportrait/identity.hpp"
#include "aiportrait/output.hpp"
#include "aiportrait/util.hpp"
#include "aiportrait/setup.hpp"

#include <fmt/format.h>

namespace aiportrait {

int compare_identity(const Config& config, const std::string& photo_a, const std::string& photo_b,
                     Reporter& reporter) {
    const ModelLocations where = find_models(config);
    configure_threads(config);
    const auto detector = make_detector(config, where);
    const IdentityNet net(where.face_recognition, config.device);

    std::vector<cv::Mat> crops;
    for (const std::string& photo : {photo_a, photo_b}) {
        try {
            const DecodedImage image =
                decode_image(read_input_bytes(photo, max_file_bytes(config.max_pixels)), config.max_pixels);
            const cv::Mat visible = composite_on_white(image.bgr, image.alpha);
            const Detection found = detector->detect(visible);
            if (found.faces.empty()) {
                reporter.error(photo, no_face_message(found, config.min_face));
                return 1;
            }
            crops.push_back(IdentityNet::prepare_crop(visible, found.faces.front().landmarks));
        } catch (const std::exception& e) {
            reporter.error(photo, first_line(e.what()));
            return 1;
        }
    }
    const std::vector<Descriptor> d = net.run(crops);
    const double distance = descriptor_distance(d[0], d[1]);
    const std::string line = fmt::format("{:.4f} {}\n", distance, distance < kSamePersonDistance ? "same" : "different");
    try {
        write_stdout(std::vector<std::uint8_t>(line.begin(), line.end()));
    } catch (const std::exception& e) {
        reporter.error("", e.what());  // the one result of the command is lost: not success
        return 1;
    }
    return 0;
}

}  // namespace aiportrait

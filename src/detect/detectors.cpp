#include "aiportrait/detectors.hpp"

#include <stdexcept>

namespace aiportrait {

const std::vector<DetectorEntry>& detector_table() {
    static const std::vector<DetectorEntry> table = {
        {DetectorChoice::yunet, "yunet", "yunet/face_detection_yunet_2022mar.onnx",
         "YuNet (OpenCV Zoo): five landmarks, best on small and turned faces", make_yunet_detector},
        {DetectorChoice::blazeface, "blazeface", "blazeface/face_detection_back_256x256_barracuda.onnx",
         "MediaPipe BlazeFace full-range: estimates the mouth corners", make_blazeface_detector},
    };
    return table;
}

const DetectorEntry& detector_entry(DetectorChoice choice) {
    for (const DetectorEntry& e : detector_table())
        if (e.choice == choice) return e;
    throw std::invalid_argument("detector_entry: 'auto' is not a detector");
}

const char* to_string(DetectorChoice choice) {
    return choice == DetectorChoice::automatic ? "auto" : detector_entry(choice).name;
}

}  // namespace aiportrait

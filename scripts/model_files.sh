# The detector models' paths under weights/, for the shell scripts that fetch or use them
# (fetch_models.sh, setup.sh, fuzz.sh, bench/bench.sh): sourced, never run. The binary's own
# list is the detector table (src/detect/detectors.cpp) and kFaceCheckModelFile (face_check.hpp,
# the second opinion on every face); CliParse.ShellScriptsNameTheDetectorTablesFiles checks that
# they agree.
yunet_file=yunet/face_detection_yunet_2022mar.onnx
blazeface_file=blazeface/face_detection_back_256x256_barracuda.onnx
face_check_file=blazeface/face_detection_front_128x128_barracuda.onnx

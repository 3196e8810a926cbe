# The detector models' paths under weights/, for the shell scripts that fetch or use them
# (fetch_models.sh, setup.sh, fuzz.sh, bench/bench.sh): sourced, never run. The binary's own
# list is the detector table (src/detect/detectors.cpp); CliParse.ShellScriptsNameTheDetectorTablesFiles
# checks that the two agree.
yunet_file=yunet/face_detection_yunet_2022mar.onnx
blazeface_file=blazeface/face_detection_back_256x256_barracuda.onnx

#!/usr/bin/env bash
# `cpack -G DEB` makes aiportrait_VERSION_amd64.deb with the tool, its models and man page under
# /usr, and Depends on the OpenCV, LibTorch and OpenBLAS runtime libraries (installing it is
# left to people: README, "Install").
# Usage: check_package.sh BUILD_DIR VERSION
set -euo pipefail
build="$1" version="$2"
fail() { echo "check_package: $*" >&2; exit 1; }
command -v dpkg-deb > /dev/null || { echo "check_package: no dpkg-deb here; skipped"; exit 0; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
(cd "$build" && cpack -G DEB -B "$out" > "$out/cpack.log") || { cat "$out/cpack.log" >&2; fail "cpack failed"; }
deb="$out/aiportrait_${version}_amd64.deb"
[[ -f "$deb" ]] || fail "no $deb (made: $(ls "$out"))"
files="$(dpkg-deb -c "$deb")"
for f in ./usr/bin/aiportrait ./usr/share/man/man1/aiportrait.1 ./usr/share/aiportrait/weights/generator/aiportrait-default.pt \
         ./usr/share/aiportrait/weights/README.md ./usr/share/aiportrait/weights/HISTORY.md; do
  grep -qF " $f" <<< "$files" || fail "$f is not in the package"
done
if grep -qE '/weights/(eval|\.cache)' <<< "$files"; then fail "evaluation-only models or caches are in the package"; fi
depends="$(dpkg-deb -f "$deb" Depends)"
for lib in libopencv-core libopencv-dnn libopencv-imgcodecs libtorch libopenblas0-openmp libfmt; do
  grep -q "$lib" <<< "$depends" || fail "Depends lacks $lib: $depends"
done
[[ "$(dpkg-deb -f "$deb" Architecture)" == amd64 ]] || fail "not amd64"
echo "check_package: ok ($(du -h "$deb" | cut -f1); Depends: $depends)"

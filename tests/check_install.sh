#!/usr/bin/env bash
# `cmake --install` into a temporary prefix: the binary, the models and the man page land there,
# PREFIX/bin/aiportrait makes a portrait from any folder with no flags and no environment, its
# sidecar names the installed model, and every option of --help is in the man page.
# Usage: check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1" source="$2"
prefix="$(mktemp -d)" work="$(mktemp -d)"
trap 'rm -rf "$prefix" "$work"' EXIT
fail() { echo "check_install: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
for f in bin/aiportrait share/man/man1/aiportrait.1 share/aiportrait/weights/generator/aiportrait-default.pt \
         share/aiportrait/weights/face-api/face_recognition_model-weights_manifest.json; do
  [[ -f "$prefix/$f" ]] || fail "$f not installed"
done
if find "$prefix" -path '*/weights/eval*' -o -path '*/weights/.cache*' | grep -q .; then
  fail "evaluation-only models or download caches were installed"
fi

cp "$source/examples/photos/sample1.jpg" "$work/photo.jpg"
(cd "$work" && env -i PATH=/usr/bin:/bin HOME="$work" "$prefix/bin/aiportrait" photo.jpg -o x.png --threads 2 -q) \
  || fail "the installed binary failed"
[[ -s "$work/x.png" && -s "$work/x.json" ]] || fail "no portrait or sidecar written"
grep -q "\"path\": \"$prefix/share/aiportrait/weights/generator/aiportrait-default.pt\"" "$work/x.json" \
  || fail "the sidecar does not name the installed default generator: $(grep -A2 '"model"' "$work/x.json")"

version="$(env -i PATH=/usr/bin:/bin "$prefix/bin/aiportrait" --version)"
grep -q "^aiportrait [0-9]" <<< "$version" || fail "--version: $version"
grep -q "LibTorch .*OpenCV" <<< "$version" || fail "--version lacks library versions: $version"
grep -q "default generator: aiportrait-default " <<< "$version" || fail "--version lacks the model: $version"

# The page as a user reads it: `man aiportrait` finds it under the prefix and renders it without
# a groff warning.
command -v man > /dev/null || fail "man is not installed (Debian: man-db; scripts/setup.sh installs it)"
rendered="$(LC_ALL=C MANPATH="$prefix/share/man" man --warnings aiportrait 2> "$work/man.err")" \
  || fail "man aiportrait failed: $(cat "$work/man.err")"
[[ ! -s "$work/man.err" ]] || fail "man aiportrait warns: $(cat "$work/man.err")"
grep -q "aiportrait - turn photos" <<< "$rendered" || fail "man aiportrait shows no NAME line: ${rendered:0:300}"

# One source for the docs: every option --help prints is in the man page (troff's \- is -).
man_text="$(sed 's/\\-/-/g' "$prefix/share/man/man1/aiportrait.1")"
help="$("$prefix/bin/aiportrait" --help; "$prefix/bin/aiportrait" identity --help; "$prefix/bin/aiportrait" gallery --help)"
missing=""
for opt in $(grep -oE -- '--[a-z][a-z0-9-]+' <<< "$help" | sort -u); do
  grep -qF -- "$opt" <<< "$man_text" || missing+=" $opt"
done
[[ -z "$missing" ]] || fail "options in --help but not in the man page:$missing"
for code in 130 143; do grep -q "$code" <<< "$help" || fail "--help does not list exit code $code"; done
echo "check_install: ok ($prefix)"

#!/usr/bin/env bash
# scripts/setup.sh installs every Debian package that the tests and README's documented commands
# need beyond Debian's Essential set, so a fresh Debian 12 passes where CI (which has more
# installed) does. Each entry is COMMAND:PACKAGE:WHO-NEEDS-IT.
# Usage: check_setup_packages.sh SOURCE_DIR
set -euo pipefail
source_dir="$1"
fail() { echo "check_setup_packages: $*" >&2; exit 1; }
needs=(
  "cmake:cmake:the build; cpack -G DEB (install.debian_package, README 'Install')"
  "ninja:ninja-build:the build"
  "file:file:cpack -G DEB (CPackDeb: 'file utility is not available' without it)"
  "man:man-db:check_install.sh reads the installed page as a user would; README 'man aiportrait'"
  "jq:jq:README 'Run manifest' merges manifests with jq"
  "xxd:xxd:README 'Sidecar': xxd -r -p turns path_hex back into the name"
  "curl:curl:scripts/fetch_models.sh"
)
# The package list as setup.sh declares it (comments dropped), and the tools it installs when
# their command is missing (`for tool in npm curl`).
declared="$( { sed -n '/^packages=(/,/^)/p' "$source_dir/scripts/setup.sh" | sed 's/#.*//'
               sed -n 's/^for tool in \(.*\); do$/\1/p' "$source_dir/scripts/setup.sh"; } | tr -s ' \t()' '\n\n\n\n')"
missing=""
for entry in "${needs[@]}"; do
  IFS=: read -r command package why <<< "$entry"
  grep -qx -- "$package" <<< "$declared" || missing+=$'\n'"  $package (for $command: $why)"
done
[[ -z "$missing" ]] || fail "scripts/setup.sh does not install:$missing"
echo "check_setup_packages: ok (${#needs[@]} commands)"

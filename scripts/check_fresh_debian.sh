#!/usr/bin/env bash
# README's two commands in a fresh Debian 12 root, as a new user's machine has it: debootstrap
# (minbase) makes the root, the tracked files of this tree are copied in (what a clone gives;
# no ../shared, so the tests that need it skip), and inside a chroot
#   scripts/setup.sh && build/aiportrait examples/photos/sample1.jpg -o portrait.png
#   scripts/test.sh
# must both pass. CI's machine has packages a fresh Debian lacks (file, man-db once hid there),
# so this is the check for "set up and test on fresh Debian 12". Run by hand, not by CI: it needs
# root and the network (the Debian archive, npm and the model sources), and takes ~30 minutes.
# Usage: sudo scripts/check_fresh_debian.sh [ROOT]   (default: a new folder under /var/tmp;
#        AIPORTRAIT_DEBIAN_MIRROR picks the archive, default http://deb.debian.org/debian;
#        AIPORTRAIT_EXTRA_CA="a.crt b.crt": certificate authorities the root must trust too, for a
#        network whose HTTPS goes through an inspecting proxy: npm fails with
#        SELF_SIGNED_CERT_IN_CHAIN without them. ca-certificates, installed by setup.sh, adds them.)
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fail() { echo "check_fresh_debian: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (debootstrap, chroot, mounts): sudo $0"
command -v debootstrap > /dev/null || fail "debootstrap is not installed (apt install debootstrap)"
root="${1:-$(mktemp -d /var/tmp/aiportrait-fresh.XXXXXX)}"

debootstrap --variant=minbase bookworm "$root" "${AIPORTRAIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$root/work/aiportrait"
git -C "$src" ls-files -z | (cd "$src" && tar --null -T - -cf -) | tar -C "$root/work/aiportrait" -xf -
cp /etc/resolv.conf "$root/etc/resolv.conf"
node_ca=()
if [[ -n "${AIPORTRAIT_EXTRA_CA:-}" ]]; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  for ca in $AIPORTRAIT_EXTRA_CA; do
    [[ -f "$ca" ]] || fail "AIPORTRAIT_EXTRA_CA: $ca: no such file"
    cp "$ca" "$root/usr/local/share/ca-certificates/$(basename "${ca%.*}").crt"
  done
  node_ca=(NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)  # node reads its own bundle otherwise
fi

# The tests start processes, mount a tmpfs in a private namespace and read /proc: the chroot gets
# the kernel's file systems, unmounted again however the run ends.
mounted=()
cleanup() { for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" || true; done; }
trap cleanup EXIT
for fs in proc sys dev dev/pts; do
  mkdir -p "$root/$fs"
  case "$fs" in
    proc) mount -t proc proc "$root/proc" ;;
    sys) mount -t sysfs sys "$root/sys" ;;
    *) mount --bind "/$fs" "$root/$fs" ;;
  esac
  mounted+=("$root/$fs")
done

chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 "${node_ca[@]}" /bin/bash -c '
  set -euo pipefail
  cd /work/aiportrait
  scripts/setup.sh && build/aiportrait examples/photos/sample1.jpg -o portrait.png
  scripts/test.sh' || fail "README's commands failed in $root (the root is kept to look at)"
echo "check_fresh_debian: ok: both of README's commands passed in a fresh Debian 12 ($root)"

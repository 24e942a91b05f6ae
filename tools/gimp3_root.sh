#!/usr/bin/env bash
# Prints the root of a file system where GIMP 3 runs, building it once if needed (../shared/notes/gimp3.md):
# "/" on Debian 13 with GIMP 3 installed (or installable); else a Debian 13 (trixie) chroot at
# $COLORPLUG_GIMP_ROOT (default /var/cache/colorplug/trixie-gimp3), built with debootstrap (its default
# mirror) and renamed into place only when complete, so an interrupted build is never reused. Besides GIMP
# it holds Xvfb, xdotool and ImageMagick's `import`, which the dialog test uses. Exit 3: cannot be set up.
set -euo pipefail
log() { echo "gimp3_root: $*" >&2; }
packages="gimp python3 xvfb xdotool imagemagick"
tools="gimp-console-3.0 gimp-3.0 Xvfb xdotool import"
missing() { for tool in $tools; do [ -x "$1/usr/bin/$tool" ] || return 0; done; return 1; }
in_root() {  # run a shell command as root inside the chroot $1, with /proc and /dev mounted
  unshare --mount --propagation private bash -c "
    mount -t proc proc '$1/proc' && mount --rbind /dev '$1/dev' &&
    cp /etc/resolv.conf '$1/etc/resolv.conf' &&
    chroot '$1' /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive bash -c '$2'
  " >&2
}
install_packages='apt-get update -qq && apt-get install -y -qq --no-install-recommends '"$packages"' && apt-get clean'
if [ "$(cut -d. -f1 /etc/debian_version 2>/dev/null)" = 13 ] || grep -q trixie /etc/debian_version 2>/dev/null; then
  missing "" || { echo /; exit 0; }
  log "Debian 13: installing $packages natively"
  DEBIAN_FRONTEND=noninteractive bash -c "$install_packages" >&2 && { echo /; exit 0; }
  exit 3
fi
root=${COLORPLUG_GIMP_ROOT:-/var/cache/colorplug/trixie-gimp3}
if [ -x "$root/usr/bin/gimp-console-3.0" ]; then
  if missing "$root"; then
    [ "$(id -u)" = 0 ] || { log "adding packages to $root needs root"; exit 3; }
    log "adding $packages to $root"
    in_root "$root" "$install_packages" || exit 3
  fi
  echo "$root"; exit 0
fi
[ "$(id -u)" = 0 ] || { log "building a chroot needs root"; exit 3; }
if ! command -v debootstrap >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq debootstrap >&2 || { apt-get update -qq >&2 && apt-get install -y -qq debootstrap >&2; } || exit 3
fi
partial="$root.partial"
rm -rf "$partial"; mkdir -p "$(dirname "$root")"
log "debootstrap trixie into $partial"
unshare --mount --propagation private debootstrap --variant=minbase trixie "$partial" >&2 || exit 3
log "installing $packages inside"
in_root "$partial" "$install_packages" || exit 3
mv "$partial" "$root"
echo "$root"

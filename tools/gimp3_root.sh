#!/usr/bin/env bash
# Prints the root of a file system where GIMP 3 runs, building it once if needed (../shared/notes/gimp3.md):
# "/" on Debian 13 with GIMP 3 installed (or installable); else a Debian 13 (trixie) chroot at
# $COLORPLUG_GIMP_ROOT (default /var/cache/colorplug/trixie-gimp3), built with debootstrap and renamed
# into place only when complete, so an interrupted build is never reused. Exit 3: cannot be set up.
set -euo pipefail
log() { echo "gimp3_root: $*" >&2; }
if command -v gimp-console-3.0 >/dev/null 2>&1; then echo /; exit 0; fi
if [ "$(cut -d. -f1 /etc/debian_version 2>/dev/null)" = 13 ] || grep -q trixie /etc/debian_version 2>/dev/null; then
  log "Debian 13: installing gimp natively"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gimp >&2 \
    && { echo /; exit 0; }
  exit 3
fi
root=${COLORPLUG_GIMP_ROOT:-/var/cache/colorplug/trixie-gimp3}
if [ -x "$root/usr/bin/gimp-console-3.0" ]; then echo "$root"; exit 0; fi
[ "$(id -u)" = 0 ] || { log "building a chroot needs root"; exit 3; }
if ! command -v debootstrap >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq debootstrap >&2 || { apt-get update -qq >&2 && apt-get install -y -qq debootstrap >&2; } || exit 3
fi
partial="$root.partial"
rm -rf "$partial"; mkdir -p "$(dirname "$root")"
log "debootstrap trixie into $partial"
unshare --mount --propagation private debootstrap --variant=minbase trixie "$partial" http://deb.debian.org/debian >&2 || exit 3
log "installing gimp inside"
unshare --mount --propagation private bash -c "
  mount -t proc proc '$partial/proc' && mount --rbind /dev '$partial/dev' &&
  cp /etc/resolv.conf '$partial/etc/resolv.conf' &&
  chroot '$partial' /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive bash -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends gimp python3 && apt-get clean'
" >&2 || exit 3
mv "$partial" "$root"
echo "$root"

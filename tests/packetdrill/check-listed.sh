#!/bin/sh
# check-listed.sh DIR SCRIPT...: every *.pkt in DIR, DIR/selftest and DIR/known-bugs is
# one of SCRIPTs, so a script added to the directory but not to meson.build does not
# silently go unrun.
dir=$1
shift
status=0
for f in "$dir"/*.pkt "$dir"/selftest/*.pkt "$dir"/known-bugs/*.pkt; do
    [ -e "$f" ] || continue
    want=$(realpath "$f")
    found=0
    for g in "$@"; do
        [ "$(realpath "$g")" = "$want" ] && found=1
    done
    if [ "$found" -eq 0 ]; then
        echo "$f is not listed in tests/packetdrill/meson.build"
        status=1
    fi
done
exit $status

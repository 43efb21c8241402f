#!/bin/sh
# check-listed.sh DIR SCRIPT...: every *.pkt under DIR (any depth) is one of SCRIPTs, so a
# script added to the tree but not to a meson.build does not silently go unrun.
dir=$1
shift
status=0
for f in $(find "$dir" -name '*.pkt' | sort); do
    want=$(realpath "$f")
    found=0
    for g in "$@"; do
        [ "$(realpath "$g")" = "$want" ] && found=1
    done
    if [ "$found" -eq 0 ]; then
        echo "$f is not listed in a tests/packetdrill meson.build"
        status=1
    fi
done
exit $status

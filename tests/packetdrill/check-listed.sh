#!/bin/sh
# check-listed.sh DIR SCRIPT...: every *.pkt under DIR (any depth) is one of SCRIPTs, so a
# script added to the tree but not to a meson.build does not silently go unrun.
dir=$1
shift
# The listed scripts' real paths, resolved once: comparing every pair with its own realpath
# calls takes minutes (past meson's timeout) once the suite has a few hundred scripts.
listed=$(realpath "$@")
status=0
for f in $(find "$dir" -name '*.pkt' | sort); do
    want=$(realpath "$f")
    if ! printf '%s\n' "$listed" | grep -qxF "$want"; then
        echo "$f is not listed in a tests/packetdrill meson.build"
        status=1
    fi
done
exit $status

#!/bin/sh
# check-selftest.sh RUNNER SCRIPT...: each SCRIPT must make RUNNER exit 1 with
# "FAIL SCRIPT:N: expected ..." ("FAIL SCRIPT:N:COLUMN: expected ..." for a parse
# error), where N is the line named by the script's `// selftest: fails at line N`
# or `// known bug: fails at line N` comment -- so a script that fails for the
# wrong reason (a typo, a parse error elsewhere) does not count, and a known bug
# that gets fixed makes its test fail until the script moves out of known-bugs/.
runner=$1
shift
status=0
for s in "$@"; do
    line=$(sed -n 's#^// \(selftest\|known bug\): fails at line \([0-9][0-9]*\).*#\2#p' "$s" | head -n 1)
    if [ -z "$line" ]; then
        echo "$s: no '// selftest: fails at line N' or '// known bug: fails at line N' comment"
        status=1
        continue
    fi
    out=$("$runner" "$s")
    rc=$?
    if [ "$rc" -ne 1 ]; then
        echo "$s: exit status $rc, expected 1"
        printf '%s\n' "$out"
        status=1
    elif ! printf '%s\n' "$out" | grep -F "FAIL $s:$line:" | grep -qE ":$line:([0-9]+:)? expected "; then
        echo "$s: expected a failure at line $line"
        printf '%s\n' "$out"
        status=1
    else
        printf '%s\n' "$out" | grep -F "FAIL $s:"
    fi
done
exit $status

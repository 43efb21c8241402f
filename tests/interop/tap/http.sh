#!/usr/bin/env bash
# tests/interop/tap/http.sh SERVER: ustcp-server --app http on net_tap against curl, nc, wrk and ab:
#  - GET / (the page), GET /bytes/N (size and content checked), HEAD (Content-Length, no body),
#    404, 405 with Allow, a malformed request (nc) answered 400 and closed;
#  - keep-alive: two URLs in one curl share one connection; pipelining: two requests in one
#    write both answered, in order;
#  - wrk -c 64 -t 2 -d 3s: no socket errors, no non-2xx; ab -n 10000 -c 32 -k: no failures;
#  - a silent keep-alive connection is closed by the idle timeout (1 s here);
#  - the server stops on SIGTERM with every mbuf back in its pool.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 SERVER" >&2; exit 2; }
SERVER=$1
for t in curl wrk ab; do command -v "$t" >/dev/null || tap_skip "'$t' not found (scripts/setup.sh installs it)"; done
PY=/usr/bin/python3
[ -x "$PY" ] || tap_skip "$PY not found"
URL="http://$USTCP_IP"

tap_start "$SERVER" --app http --app.http_max_bytes 64MiB --app.http_idle_timeout 1s

# GET /
in_ns timeout 10 curl -sS -o "$WORK/page" -w '%{http_code} %{size_download}\n' "$URL/" >"$WORK/curl" || tap_fail "curl GET /"
[ "$(cut -d' ' -f1 "$WORK/curl")" = 200 ] || tap_fail "GET /: $(cat "$WORK/curl")"
grep -q "<h1>ustcp</h1>" "$WORK/page" || tap_fail "GET /: not the page: $(head -c 200 "$WORK/page")"
echo "ok: GET / ($(cut -d' ' -f2 "$WORK/curl") bytes)"

# GET /bytes/N: exact size and the 64-byte line pattern
for n in 0 1 1000 100000 $((16 * 1024 * 1024)); do
    in_ns timeout 60 curl -sS -o "$WORK/bytes" -w '%{http_code}\n' "$URL/bytes/$n" >"$WORK/curl" || tap_fail "curl /bytes/$n"
    [ "$(cat "$WORK/curl")" = 200 ] || tap_fail "/bytes/$n: status $(cat "$WORK/curl")"
    got=$(stat -c %s "$WORK/bytes")
    [ "$got" -eq "$n" ] || tap_fail "/bytes/$n: $got bytes"
    want=$($PY -c "import sys; n=int(sys.argv[1]); l=b'0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n'; import hashlib; print(hashlib.sha256((l*(n//64+1))[:n]).hexdigest())" "$n")
    [ "$(sha256sum <"$WORK/bytes" | cut -d' ' -f1)" = "$want" ] || tap_fail "/bytes/$n: content differs"
done
echo "ok: GET /bytes/N for N = 0, 1, 1000, 100000, 16 MiB (size and content)"
code=$(in_ns timeout 10 curl -sS -o /dev/null -w '%{http_code}' "$URL/bytes/$((64 * 1024 * 1024 + 1))")
[ "$code" = 400 ] || tap_fail "/bytes above the limit: $code"
echo "ok: /bytes/N above app.http_max_bytes: 400"

# HEAD: the page's Content-Length, no body
in_ns timeout 10 curl -sS -I -o "$WORK/head" "$URL/" || tap_fail "curl HEAD"
grep -qi "^content-length: $(stat -c %s "$WORK/page")" "$WORK/head" || tap_fail "HEAD: $(cat "$WORK/head")"
head -1 "$WORK/head" | grep -q "HTTP/1.1 200 OK" || tap_fail "HEAD status: $(head -1 "$WORK/head")"
echo "ok: HEAD"

# 404, 405 with Allow
code=$(in_ns timeout 10 curl -sS -o /dev/null -w '%{http_code}' "$URL/nothing-here")
[ "$code" = 404 ] || tap_fail "unknown path: $code"
in_ns timeout 10 curl -sS -X POST -d 'x=1' -D "$WORK/h405" -o /dev/null "$URL/" || tap_fail "curl POST"
head -1 "$WORK/h405" | grep -q " 405 " || tap_fail "POST: $(head -1 "$WORK/h405")"
grep -qi "^allow: GET, HEAD" "$WORK/h405" || tap_fail "405 without Allow: $(cat "$WORK/h405")"
echo "ok: 404 and 405 (Allow: GET, HEAD)"

# malformed: 400 and the connection closed (nc returns at our FIN)
printf 'THIS IS NOT HTTP\r\n\r\n' | in_ns timeout 10 nc -N "$USTCP_IP" 80 >"$WORK/bad" || tap_fail "nc malformed"
head -1 "$WORK/bad" | grep -q "^HTTP/1.1 400 Bad Request" || tap_fail "malformed: $(head -c 300 "$WORK/bad")"
grep -qi "^connection: close" "$WORK/bad" || tap_fail "400 without Connection: close"
echo "ok: malformed request: 400, closed"

# keep-alive: two URLs, one connection
in_ns timeout 10 curl -sS -v -o /dev/null -o /dev/null "$URL/" "$URL/bytes/10" 2>"$WORK/ka" || tap_fail "curl keep-alive"
grep -q "Re-using existing connection" "$WORK/ka" || tap_fail "curl did not reuse the connection: $(grep '^\*' "$WORK/ka")"
[ "$(grep -c "Connected to" "$WORK/ka" || true)" -eq 1 ] || tap_fail "curl connected twice"
echo "ok: keep-alive (curl re-used the connection)"

# pipelining: two requests in one segment, answered in order
printf 'GET /bytes/5 HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' |
    in_ns timeout 10 nc "$USTCP_IP" 80 >"$WORK/pipe" || tap_fail "nc pipelined"
# (the 5-byte body has no newline: the second status line follows it on the same line)
[ "$(grep -o 'HTTP/1.1 [0-9]*' "$WORK/pipe" | tr '\n' ' ')" = "HTTP/1.1 200 HTTP/1.1 404 " ] ||
    tap_fail "pipelined: $(cat "$WORK/pipe")"
grep -q "^01234HTTP/1.1 404" "$WORK/pipe" || tap_fail "pipelined: body of the first: $(cat "$WORK/pipe")"
echo "ok: pipelining (two requests in one write, answered in order, then closed)"

# wrk: 64 connections, 3 s
in_ns timeout 30 wrk -c 64 -t 2 -d 3s "$URL/" >"$WORK/wrk" 2>&1 || tap_fail "wrk: $(cat "$WORK/wrk")"
cat "$WORK/wrk"
grep -q "requests in" "$WORK/wrk" || tap_fail "wrk: no summary"
grep -q "Socket errors" "$WORK/wrk" && tap_fail "wrk: $(grep 'Socket errors' "$WORK/wrk")"
grep -q "Non-2xx" "$WORK/wrk" && tap_fail "wrk: $(grep 'Non-2xx' "$WORK/wrk")"
reqs=$(grep -o '[0-9]* requests in' "$WORK/wrk" | cut -d' ' -f1)
[ "$reqs" -gt 0 ] || tap_fail "wrk: no requests"
echo "ok: wrk: $reqs requests, no socket errors, no non-2xx"

# ab: 10000 keep-alive requests, 32 at a time
in_ns timeout 60 ab -n 10000 -c 32 -k "$URL/" >"$WORK/ab" 2>&1 || tap_fail "ab: $(tail -20 "$WORK/ab")"
cat "$WORK/ab"
grep -Eq "^Failed requests: +0$" "$WORK/ab" || tap_fail "ab: $(grep 'Failed requests' "$WORK/ab")"
grep -Eq "^Complete requests: +10000$" "$WORK/ab" || tap_fail "ab: $(grep 'Complete requests' "$WORK/ab")"
if grep -q "Non-2xx responses" "$WORK/ab"; then
    grep -Eq "^Non-2xx responses: +0$" "$WORK/ab" || tap_fail "ab: $(grep 'Non-2xx' "$WORK/ab")"
fi
grep -Eq "^Keep-Alive requests: +10000$" "$WORK/ab" || tap_fail "ab: $(grep 'Keep-Alive requests' "$WORK/ab")"
echo "ok: ab: 10000 keep-alive requests, 0 failed, no non-2xx"

# idle timeout: a keep-alive connection that goes silent is closed by the server (FIN) after 1 s
in_ns timeout 20 "$PY" - "$USTCP_IP" >"$WORK/idle" 2>&1 <<'PYEOF' || tap_fail "idle timeout: $(cat "$WORK/idle")"
import socket, sys, time
s = socket.create_connection((sys.argv[1], 80), timeout=10)
s.sendall(b"GET /bytes/3 HTTP/1.1\r\nHost: t\r\n\r\n")
got = b""
while not got.endswith(b"\r\n\r\n012"):
    d = s.recv(4096)
    if not d:
        sys.exit("closed before the response")
    got += d
t0 = time.monotonic()
d = s.recv(4096)  # blocks until the server closes (or 10 s)
el = time.monotonic() - t0
if d != b"":
    sys.exit("expected end of stream, got %r" % d)
if not 0.5 <= el <= 5:
    sys.exit("closed after %.2f s, expected about 1 s" % el)
print("closed after %.2f s" % el)
PYEOF
echo "ok: idle keep-alive connection closed by the server ($(cat "$WORK/idle"))"

tap_stats
grep -q "^ *http: .*idle closed [1-9]" "$SERVER_LOG" || tap_fail "no idle close counted: $(grep 'http:' "$SERVER_LOG" | tail -1)"
tap_stop
grep "http:" "$SERVER_LOG" | tail -1
echo "ok: clean shutdown, every mbuf returned"

#!/usr/bin/env bash
# The control plane over HTTPS ([control] tls_cert / tls_key) on a real
# `troupe run`, with a self-signed certificate made here by the openssl CLI:
# curl and python's ssl module as clients, `troupe ctl --cacert`, a plain
# HTTP client and silent TLS clients that must not block the others, and a
# clear error for missing, broken or mismatched files.
#   control_tls_test.sh TROUPE
TROUPE="$1"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
PY=/usr/bin/python3
unset TROUPE_CONTROL_URL TROUPE_CONTROL_TOKEN TROUPE_CONTROL_CACERT
if ! command -v openssl >/dev/null || ! command -v curl >/dev/null; then
  echo "SKIP - needs the openssl and curl commands"; exit 77
fi

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 2 -subj /CN=localhost \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$WORK/openssl" 2>&1
expect_eq "openssl makes a self-signed certificate" "$?" "0"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$WORK/other.key" -out "$WORK/other.pem" -days 2 -subj /CN=other \
  >>"$WORK/openssl" 2>&1

cat >"$WORK/app.toml" <<'TOML'
[app]
name = "tls"
status_interval = "60s"
[control]
token = "s3cret"
[services.tick]
type = "ticker"
TOML

http=$(free_port)
URL="https://127.0.0.1:$http"
"$TROUPE" run "$WORK/app.toml" --set "control.http=127.0.0.1:$http" \
  --set "control.tls_cert=$WORK/cert.pem" \
  --set "control.tls_key=$WORK/key.pem" >"$WORK/out" 2>"$WORK/err" &
pid=$!
await_running tls 20
expect_grep "logs the https address" "$WORK/err" \
  "control plane on https://127.0.0.1:$http"

# 1. curl, verifying the certificate.
code=$(curl -s --max-time 10 --cacert "$WORK/cert.pem" -o "$WORK/body" \
  -w '%{http_code}' "$URL/livez")
expect_eq "curl GET /livez over https" "$code" "200"
code=$(curl -s --max-time 10 --cacert "$WORK/cert.pem" -o "$WORK/body" \
  -w '%{http_code}' -H 'Authorization: Bearer s3cret' "$URL/services/tick")
expect_eq "curl GET /services/tick with the token" "$code" "200"
expect_grep "service JSON" "$WORK/body" '"name": ?"tick"'
code=$(curl -s --max-time 10 --cacert "$WORK/cert.pem" -o "$WORK/body" \
  -w '%{http_code}' -X POST -H 'Authorization: Bearer s3cret' \
  "$URL/services/tick/restart")
expect_eq "curl POST restart (no body) over https" "$code" "200"
code=$(curl -s --max-time 10 --cacert "$WORK/cert.pem" -o /dev/null \
  -w '%{http_code}' "$URL/services")
expect_eq "the token is still required" "$code" "401"
curl -s --max-time 10 -o /dev/null "$URL/livez"
expect_eq "curl refuses an unknown certificate (exit 60)" "$?" "60"

# 2. Plain HTTP to the TLS port gets no HTTP answer; the server goes on.
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' \
  "http://127.0.0.1:$http/livez")
expect_eq "plain http gets no HTTP answer" "$code" "000"

# 3. Silent clients that never send a ClientHello hold no one up: the
#    handshake has the request head's deadline. python's ssl checks the
#    certificate and the TLS version meanwhile.
cat >"$WORK/client.py" <<'PYEOF'
import json, socket, ssl, sys, time, urllib.request
port, cafile = int(sys.argv[1]), sys.argv[2]
silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
ctx = ssl.create_default_context(cafile=cafile)
t0 = time.monotonic()
req = urllib.request.Request(f"https://127.0.0.1:{port}/health",
                             headers={"Authorization": "bearer s3cret"})
with urllib.request.urlopen(req, context=ctx, timeout=20) as res:
    body = json.load(res)
    print("status", res.status, "ok" if "services" in body else body)
with socket.create_connection(("127.0.0.1", port)) as raw:
    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        print("version", tls.version())
print("while 16 clients stay silent: answered in %.1f s" % (time.monotonic() - t0))
for s in silent:
    s.close()
PYEOF
if timeout 60 "$PY" "$WORK/client.py" "$http" "$WORK/cert.pem" >"$WORK/py" 2>&1
then
  expect_grep "python ssl: /health answers" "$WORK/py" '^status 200 ok$'
  expect_grep "TLS 1.2 or newer" "$WORK/py" '^version TLSv1\.[23]$'
else
  fail "python ssl client:"; quote "$WORK/py"
fi

# 4. troupe ctl over https: --cacert trusts the certificate.
"$TROUPE" ctl --url "$URL" --token s3cret --cacert "$WORK/cert.pem" \
  status tick >"$WORK/ctl" 2>&1
expect_exit "ctl --cacert status tick" "$?" "0" "$WORK/ctl"
expect_grep "ctl prints the service" "$WORK/ctl" 'tick'
"$TROUPE" ctl --url "$URL" --token s3cret status >"$WORK/ctl" 2>&1
expect_exit "ctl without --cacert: unreachable" "$?" "3" "$WORK/ctl"
expect_grep "ctl says why" "$WORK/ctl" 'certificate is not trusted'

kill -TERM "$pid"
wait "$pid"
expect_exit "SIGTERM stops the app (0)" "$?" "0" "$WORK/err"

# 5. Bad TLS settings stop the run at once with a clear error.
# try NAME REGEX --set ...: runs the app, expects exit 1 and REGEX in stderr.
try() {
  local what="$1" regex="$2"
  shift 2
  timeout 30 "$TROUPE" run "$WORK/app.toml" \
    --set "control.http=127.0.0.1:$(free_port)" "$@" --duration 5s \
    >"$WORK/out" 2>"$WORK/err"
  expect_exit "$what: exit 1" "$?" "1" "$WORK/err"
  expect_grep "$what: says why" "$WORK/err" "$regex"
}
try "missing key" "tls_key: cannot read '$WORK/nope.pem': No such file" \
  --set "control.tls_cert=$WORK/cert.pem" --set "control.tls_key=$WORK/nope.pem"
echo "not a certificate" >"$WORK/junk.pem"
try "junk certificate" "tls_cert: '$WORK/junk.pem' is not a PEM certificate" \
  --set "control.tls_cert=$WORK/junk.pem" --set "control.tls_key=$WORK/key.pem"
try "mismatched key" "tls_key: '$WORK/other.key' does not belong to" \
  --set "control.tls_cert=$WORK/cert.pem" --set "control.tls_key=$WORK/other.key"
try "cert without key" "tls_cert and tls_key go together" \
  --set "control.tls_cert=$WORK/cert.pem"

finish

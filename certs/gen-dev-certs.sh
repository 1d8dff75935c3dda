#!/usr/bin/env bash
# Makes a development CA and a server certificate for 127.0.0.1 / localhost (ECDSA P-256),
# plus a second "rogue" CA for negative tests. Idempotent: existing files are kept.
# Usage: certs/gen-dev-certs.sh OUT_DIR
# Development only: production certificates come from the council's PKI (certs/README.md).
set -euo pipefail
out="${1:?usage: gen-dev-certs.sh OUT_DIR}"
mkdir -p "$out"
cd "$out"
umask 077
CURVE=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)
make_ca() {  # name, subject
  [ -f "$1.crt" ] && return 0
  openssl req -x509 "${CURVE[@]}" -nodes -sha256 -days 825 -keyout "$1.key" -out "$1.crt" -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
make_ca ca "/CN=Hearth Development CA"
make_ca rogue-ca "/CN=Hearth Rogue Test CA"
if [ ! -f server.crt ]; then
  openssl req "${CURVE[@]}" -nodes -sha256 -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
  openssl x509 -req -sha256 -days 397 -in server.csr -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
    -extfile server.ext -out server.crt 2>/dev/null
  rm -f server.csr server.ext
fi
if [ ! -f rogue-server.crt ]; then  # a server certificate for 127.0.0.1 from the wrong CA
  openssl req "${CURVE[@]}" -nodes -sha256 -keyout rogue-server.key -out rogue.csr -subj "/CN=localhost" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' > rogue.ext
  openssl x509 -req -sha256 -days 397 -in rogue.csr -CA rogue-ca.crt -CAkey rogue-ca.key \
    -set_serial "0x$(openssl rand -hex 16)" -extfile rogue.ext -out rogue-server.crt 2>/dev/null
  rm -f rogue.csr rogue.ext
fi
chmod 600 ./*.key

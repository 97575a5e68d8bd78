#!/usr/bin/env bash
# Build the linux/amd64 binary as a release would, package it as .deb and
# .rpm with nfpm (packaging/nfpm.yaml), install the .deb into a scratch
# root, run the installed `vigil version`, and verify the systemd unit.
# Tools: nfpm (installed pinned with go install when missing), dpkg-deb,
# systemd-analyze (the unit check is skipped, saying so, without it).
set -euo pipefail
cd "$(dirname "$0")/.."
NFPM_VERSION=v2.43.4
OUT=dist/package-check # packaging/nfpm.yaml takes the binary from here
VERSION=${VERSION:-0.0.0-check}
export PATH="$(go env GOPATH)/bin:$PATH"
command -v nfpm >/dev/null || go install "github.com/goreleaser/nfpm/v2/cmd/nfpm@${NFPM_VERSION}"
command -v dpkg-deb >/dev/null || { echo "package-check: dpkg-deb is missing" >&2; exit 1; }

rm -rf "$OUT" && mkdir -p "$OUT/root"
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath \
	-ldflags "-s -w -X github.com/vigil-auth/vigil/internal/buildinfo.version=${VERSION} -X github.com/vigil-auth/vigil/internal/buildinfo.date=$(date -u +%Y-%m-%dT%H:%M:%SZ) -X github.com/vigil-auth/vigil/internal/buildinfo.commit=$(git rev-parse HEAD 2>/dev/null)" \
	-o "$OUT/vigil" ./cmd/vigil
file "$OUT/vigil" 2>/dev/null | grep -q 'statically linked' || { ldd "$OUT/vigil" 2>&1 | grep -q 'not a dynamic' || { echo "package-check: the binary is not static" >&2; exit 1; }; }
for fmt in deb rpm; do
	VERSION=$VERSION ARCH=amd64 nfpm package --config packaging/nfpm.yaml --packager $fmt --target "$OUT/"
done
deb=$(ls "$OUT"/*.deb)
dpkg-deb -x "$deb" "$OUT/root"
dpkg-deb -e "$deb" "$OUT/control"
got=$("$OUT/root/usr/bin/vigil" version)
echo "$got"
grep -q "^vigil ${VERSION}\$" <<<"$(head -1 <<<"$got")" || { echo "package-check: installed vigil reports the wrong version" >&2; exit 1; }
grep -q 'useradd --system' "$OUT/control/preinst" || { echo "package-check: the .deb does not create the vigil user" >&2; exit 1; }
for f in usr/lib/systemd/system/vigil.service etc/vigil/vigil.yaml etc/vigil/vigil.env; do
	[ -f "$OUT/root/$f" ] || { echo "package-check: the .deb lacks /$f" >&2; exit 1; }
done
grep -q '^/etc/vigil/vigil.yaml$' "$OUT/control/conffiles" || { echo "package-check: vigil.yaml is not a conffile" >&2; exit 1; }
if command -v systemd-analyze >/dev/null; then
	# Verify the installed unit against this machine's systemd, with its
	# ExecStart pointing at the unpacked binary (the .deb is not installed).
	mkdir -p "$OUT/unit"
	sed "s#/usr/bin/vigil#$PWD/$OUT/root/usr/bin/vigil#" "$OUT/root/usr/lib/systemd/system/vigil.service" >"$OUT/unit/vigil.service"
	systemd-analyze verify "$OUT/unit/vigil.service"
	echo "package-check: systemd-analyze verify passed"
else
	echo "package-check: systemd-analyze missing, unit file not verified" >&2
fi
ls -l "$OUT"/*.deb "$OUT"/*.rpm
echo "package-check: ok"

#!/bin/bash
# Build the Raspberry Pi OS image of QingKa Box with rpi-image-gen, then its RAUC bundle.
# Runs on an arm64 Debian bookworm / Raspberry Pi OS machine (a Pi 5 will do): the wheels put
# into the image are built by this machine's pip, for this machine's architecture.
#
#   QINGKA_TRUST=/path/to/trust QINGKA_VERSION=2026.1.0 \
#   QINGKA_SIGN_CERT=signer.cert.pem QINGKA_SIGN_KEY=signer.key.pem make image
#
# QINGKA_TRUST: the fleet's Ed25519 public keys (*.pem) and the update CA (rauc-ca.pem).
# RPI_IMAGE_GEN: the rpi-image-gen checkout (default: rpi-image-gen on PATH).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
die() { echo "build-image.sh: $*" >&2; exit 1; }

[[ "$(uname -m)" == aarch64 ]] || die "build on an arm64 machine: the image's wheels are built for this machine"
: "${QINGKA_TRUST:?set QINGKA_TRUST to the directory of fleet public keys and rauc-ca.pem}"
: "${QINGKA_VERSION:?set QINGKA_VERSION, like 2026.1.0 (anti-rollback compares it)}"
gen=${RPI_IMAGE_GEN:-$(command -v rpi-image-gen || true)}
[[ -n "$gen" ]] || die "rpi-image-gen is not installed (see image-build/README.md)"
[[ -d "$gen" ]] && gen="$gen/rpi-image-gen"

work="$repo/.cache/image"
rm -rf "$work/wheels"
mkdir -p "$work/wheels"
python3 -m pip wheel --quiet --wheel-dir "$work/wheels" "$repo"

export IGconf_qingka_src="$repo" IGconf_qingka_wheels="$work/wheels"
export IGconf_qingka_trust="$QINGKA_TRUST" IGconf_qingka_version="$QINGKA_VERSION"
"$gen" build -S "$here/rpi-image-gen" -c qingka-box.yaml -B "$work/build"

if [[ -n "${QINGKA_SIGN_CERT:-}" ]]; then
    # The update bundle: the system slot image (and its boot partition) of the image just built.
    system=$(find "$work/build" -name 'system.ext4' -o -name '*.system.ext4' | head -n 1)
    boot=$(find "$work/build" -name 'boot.vfat' -o -name '*.boot.vfat' | head -n 1)
    [[ -n "$system" ]] || die "no system slot image found under $work/build"
    "$here/make-bundle.sh" --rootfs "$system" ${boot:+--boot "$boot"} \
        --version "$QINGKA_VERSION" --cert "$QINGKA_SIGN_CERT" --key "$QINGKA_SIGN_KEY" \
        --out "$work/qingka-box-$QINGKA_VERSION.raucb"
fi
echo "image and bundle under $work"

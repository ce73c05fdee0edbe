#!/bin/bash
# Make a signed RAUC bundle of the box's root file system (and, on the Pi, its boot partition).
#
#   make-bundle.sh --rootfs system.ext4 [--boot boot.vfat] --version V --cert CERT --key KEY
#                  --out FILE.raucb [--format verity|plain] [--compatible NAME]
#
# The whole root slot is the unit of update: the application, its units and the OS move together
# and fall back together. The box accepts only verity bundles (system.conf: bundle-formats);
# "plain" exists for the tests, on kernels without device-mapper.
set -euo pipefail

rootfs= boot= version= cert= key= out= format=verity compatible=qingka-box-rpi-arm64
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rootfs) rootfs=$2; shift 2 ;;
        --boot) boot=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        --cert) cert=$2; shift 2 ;;
        --key) key=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --format) format=$2; shift 2 ;;
        --compatible) compatible=$2; shift 2 ;;
        *) echo "make-bundle.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
die() { echo "make-bundle.sh: $*" >&2; exit 1; }
[[ -f "$rootfs" ]] || die "--rootfs must name an ext4 image"
[[ -z "$boot" || -f "$boot" ]] || die "--boot must name a vfat image"
[[ "$version" =~ ^[0-9]{1,9}(\.[0-9]{1,9}){0,3}$ ]] || die "--version '$version' is not like 2025.11.2"
[[ -f "$cert" && -f "$key" ]] || die "--cert and --key must name the signing certificate and key"
[[ -n "$out" ]] || die "--out must name the bundle to write"
[[ "$format" == verity || "$format" == plain ]] || die "--format is verity or plain"

content=$(mktemp -d)
trap 'rm -rf "$content"' EXIT
# Hard links, not copies: a root image is hundreds of MiB.
ln "$rootfs" "$content/rootfs.ext4" 2>/dev/null || cp "$rootfs" "$content/rootfs.ext4"
{
    printf '[update]\ncompatible=%s\nversion=%s\n\n[bundle]\nformat=%s\n\n' \
        "$compatible" "$version" "$format"
    printf '[image.rootfs]\nfilename=rootfs.ext4\n'
} > "$content/manifest.raucm"
if [[ -n "$boot" ]]; then
    ln "$boot" "$content/boot.vfat" 2>/dev/null || cp "$boot" "$content/boot.vfat"
    printf '\n[image.boot]\nfilename=boot.vfat\n' >> "$content/manifest.raucm"
fi
rm -f "$out"
rauc bundle --cert="$cert" --key="$key" "$content" "$out"

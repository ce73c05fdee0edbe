#!/bin/bash
# Install QingKa Box into a root file system: the application in /opt/qingka (a venv from
# wheels), its units, udev rules, users and groups, fleet trust keys, the read-only-root layout
# (/etc/qingka -> the data partition, fstab), RAUC's A/B configuration, the kiosk on boot, and
# SSH off. The same script is the rpi-image-gen layer's customize hook (on the Pi image) and
# the install step of `make boot-test` (on a Debian root file system made with mmdebstrap).
#
#   install.sh --root DIR --wheels DIR --trust DIR [--version V] [--data fstab|slot-shared]
#              [--rauc-ca FILE]
#
# --wheels: a directory of wheels holding qingka-box and all its dependencies, built for the
#           target's Python and architecture (`pip wheel . -w DIR` on a machine like the box).
# --trust:  a directory of the fleet's Ed25519 public keys (*.pem), copied to
#           /usr/share/qingka/trust/; at least one is required.
# --data:   how the data partition reaches /var/lib/qingka: an fstab line (a standalone root
#           file system) or rpi-image-gen image-rota's slot-shared bind from /persistent.
# --rauc-ca: the CA that signs update bundles (RAUC's keyring); default: trust/rauc-ca.pem.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
units="$repo/systemd"
files="$here/files"

root= wheels= trust= version=0.0.0 data=fstab rauc_ca=
while [[ $# -gt 0 ]]; do
    case "$1" in
        --root) root=$2; shift 2 ;;
        --wheels) wheels=$2; shift 2 ;;
        --trust) trust=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        --data) data=$2; shift 2 ;;
        --rauc-ca) rauc_ca=$2; shift 2 ;;
        *) echo "install.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
die() { echo "install.sh: $*" >&2; exit 1; }
[[ -n "$root" && -d "$root" ]] || die "--root must name the target root file system"
[[ -n "$wheels" && -d "$wheels" ]] || die "--wheels must name a directory of wheels"
[[ -n "$trust" && -d "$trust" ]] || die "--trust must name a directory of Ed25519 public keys"
[[ -x "$root/usr/bin/python3" ]] || die "$root has no /usr/bin/python3 (packages.txt installed?)"
[[ "$version" =~ ^[0-9]{1,9}(\.[0-9]{1,9}){0,3}$ ]] || die "--version '$version' is not like 2025.11.2"
[[ "$data" == fstab || "$data" == slot-shared ]] || die "--data is fstab or slot-shared"

step() { echo "install.sh: $*"; }
# Run a command inside the target, with none of this machine's environment (pip settings...).
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

# -- fleet trust keys: refuse anything that is not an Ed25519 public key -----------------------
keys=()
for key in "$trust"/*.pem; do
    [[ -e "$key" ]] || continue
    [[ "$(basename "$key")" == rauc-ca.pem ]] && continue
    openssl pkey -pubin -in "$key" -noout -text 2>/dev/null | grep -q '^ED25519 Public-Key' \
        || die "$key is not an Ed25519 public key in PEM"
    keys+=("$key")
done
[[ ${#keys[@]} -gt 0 ]] || die "no Ed25519 public key (*.pem) in $trust"
rauc_ca=${rauc_ca:-$trust/rauc-ca.pem}
[[ -f "$rauc_ca" ]] || die "no RAUC signing CA ($rauc_ca)"
openssl x509 -in "$rauc_ca" -noout 2>/dev/null || die "$rauc_ca is not a PEM certificate"

# -- users and groups -------------------------------------------------------------------------
step "users and groups"
install -D -m 0644 "$units/sysusers.d/qingka.conf" "$root/usr/lib/sysusers.d/qingka.conf"
systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/qingka.conf"

# -- the application: a venv from wheels ------------------------------------------------------
step "application into /opt/qingka"
rm -rf "$root/opt/qingka" "$root/tmp/qingka-wheels"
mkdir -p "$root/tmp/qingka-wheels"
cp "$wheels"/*.whl "$root/tmp/qingka-wheels/"
in_root /usr/bin/python3 -m venv /opt/qingka
in_root /opt/qingka/bin/python -m pip install --quiet --no-index --no-cache-dir \
    --disable-pip-version-check --find-links /tmp/qingka-wheels qingka-box
rm -rf "$root/tmp/qingka-wheels"
# pip is not needed on a read-only root: nothing is ever installed on the box but by an update.
in_root /opt/qingka/bin/python -m pip uninstall --quiet --yes pip setuptools >/dev/null 2>&1 || true
install -D -m 0644 "$repo/README.md" "$root/opt/qingka/share/doc/README.md"
install -D -m 0644 /dev/stdin "$root/usr/lib/qingka/image-version" <<<"$version"

# -- units, udev rules, tmpfiles, journald and watchdog settings ------------------------------
step "systemd units and udev rules"
for unit in "$units"/*.service; do
    install -m 0644 "$unit" "$root/usr/lib/systemd/system/"
done
install -D -m 0644 "$units/70-qingka.rules" "$root/usr/lib/udev/rules.d/70-qingka.rules"
install -D -m 0644 "$units/tmpfiles.d/qingka.conf" "$root/usr/lib/tmpfiles.d/qingka.conf"
install -D -m 0644 "$units/journald.conf.d/10-qingka.conf" \
    "$root/usr/lib/systemd/journald.conf.d/10-qingka.conf"
install -D -m 0644 "$units/system.conf.d/10-qingka-watchdog.conf" \
    "$root/usr/lib/systemd/system.conf.d/10-qingka-watchdog.conf"

# -- trust --------------------------------------------------------------------------------------
step "trust keys (${#keys[@]}) and the RAUC keyring"
rm -rf "$root/usr/share/qingka/trust"
install -d -m 0755 "$root/usr/share/qingka/trust"
for key in "${keys[@]}"; do
    install -m 0644 "$key" "$root/usr/share/qingka/trust/"
done
install -m 0644 "$rauc_ca" "$root/usr/share/qingka/trust/rauc-ca.pem"

# -- RAUC: A/B slots, tryboot backend, anti-rollback check -------------------------------------
install -D -m 0644 "$files/rauc/system.conf" "$root/etc/rauc/system.conf"
install -D -m 0755 "$files/rauc/tryboot-backend" "$root/usr/lib/qingka/rauc/tryboot-backend"
install -D -m 0755 "$files/rauc/pre-install" "$root/usr/lib/qingka/rauc/pre-install"
install -D -m 0644 "$units/rauc.service.d/10-qingka-boot-slot.conf" \
    "$root/usr/lib/systemd/system/rauc.service.d/10-qingka-boot-slot.conf"

# -- read-only root: configuration and data on the data partition -------------------------------
step "read-only root layout (data: $data)"
rm -rf "$root/etc/qingka"
ln -s /var/lib/qingka/config/current "$root/etc/qingka"
install -d -m 0750 "$root/var/lib/qingka"
if [[ "$data" == fstab ]]; then
    grep -v -e '/var/lib/qingka' -e '^tmpfs */tmp ' -e '^tmpfs */var/tmp ' -e '^tmpfs */var/lib/systemd ' \
        "$root/etc/fstab" > "$root/etc/fstab.new" 2>/dev/null || true
    cat "$files/fstab" >> "$root/etc/fstab.new"
    mv "$root/etc/fstab.new" "$root/etc/fstab"
else
    install -D -m 0644 "$files/slot-shared-qingka.conf" \
        "$root/etc/rpi-image-gen/slot-shared.d/qingka.conf"
fi
# An empty machine-id: systemd makes a transient one at boot on a read-only root.
: > "$root/etc/machine-id"

# -- what runs at boot ------------------------------------------------------------------------
step "enable the daemon, the kiosk and mark-good; SSH off"
systemctl --root="$root" enable qingka-daemon.service qingka-kiosk.service \
    qingka-mark-good.service >/dev/null
systemctl --root="$root" set-default multi-user.target >/dev/null
# SSH stays installed if a layer brought it, but off: provisioning can turn it on for a visit.
for unit in ssh.service ssh.socket sshd.service; do
    if [[ -e "$root/usr/lib/systemd/system/$unit" || -e "$root/lib/systemd/system/$unit" ]]; then
        systemctl --root="$root" disable "$unit" >/dev/null 2>&1 || true
    fi
done
step "done: QingKa Box $version installed into $root"

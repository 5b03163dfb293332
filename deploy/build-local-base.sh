#!/bin/sh
# Builds, with no container registry, a base image that deploy/Dockerfile can take in place
# of python:3.12-slim-bookworm: a Debian root file system made by debootstrap (minbase,
# Debian's Python 3.11 with venv, `python` on the PATH, CA certificates), imported into
# Podman. It needs only a Debian package mirror; the image's own build then needs PyPI.
# The project needs Python >= 3.11, so Debian's 3.11 serves.
#
# Run as root (debootstrap needs it), then build the image on this base:
#
#     deploy/build-local-base.sh          # makes localhost/debian-python:bookworm
#     podman build --format docker -f deploy/Dockerfile \
#         --build-arg PYTHON_IMAGE=localhost/debian-python:bookworm -t chatops-bridge .
#
# Idempotent: it does nothing when the image exists (REBUILD=1 makes it again).
# Bounded: debootstrap gets TIMEOUT seconds, and the root file system lives in a temporary
# directory that is removed on exit, whatever happens; nothing else is left behind.
#
# Settings (environment), with their defaults: IMAGE=localhost/debian-python:bookworm,
# SUITE=bookworm, MIRROR=http://deb.debian.org/debian, TIMEOUT=900, REBUILD=0,
# PODMAN=podman (the command, with any global options such as --storage-driver vfs).
set -eu

IMAGE=${IMAGE:-localhost/debian-python:bookworm}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
TIMEOUT=${TIMEOUT:-900}
REBUILD=${REBUILD:-0}
PODMAN=${PODMAN:-podman}

need() {
    command -v "$1" >/dev/null || { echo "needs $1: apt-get install -y $2" >&2; exit 2; }
}
need debootstrap debootstrap
need "${PODMAN%% *}" podman
[ "$(id -u)" = 0 ] || { echo "run as root: debootstrap needs it" >&2; exit 2; }

# $PODMAN is unquoted on purpose: it may carry global options.
if [ "$REBUILD" != 1 ] && $PODMAN image exists "$IMAGE"; then
    echo "$IMAGE exists (REBUILD=1 makes it again)"
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/chatops-base.XXXXXX")
rootfs=$work/rootfs
cleanup() {
    # An interrupted debootstrap may leave /proc or /sys mounted in the root file system.
    umount -R "$rootfs/proc" "$rootfs/sys" 2>/dev/null || true
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# python3-venv: the Dockerfile runs `python -m venv`; python-is-python3: it calls `python`.
# groupadd and useradd (package passwd) are part of minbase.
timeout "$TIMEOUT" debootstrap --variant=minbase \
    --include=python3,python3-venv,python-is-python3,ca-certificates \
    "$SUITE" "$rootfs" "$MIRROR"

# What an image does not need: the downloaded packages and the package lists.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

# An imported image has no configuration. PATH is set because the Dockerfile's
# `ENV PATH=/opt/chatops/bin:$PATH` extends the base image's.
tar --numeric-owner -C "$rootfs" -c . \
    | $PODMAN import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python"]' \
        - "$IMAGE"
$PODMAN image ls "$IMAGE"

#!/usr/bin/env bash
# Installs what Meshlens needs and is missing, then migrates the database.
#
# Idempotent and fast when everything is present: apt runs only when a binary is
# missing, pip only when pyproject.toml is newer than its stamp, npm only when
# package-lock.json is newer than its stamp.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv
PIP_STAMP="$VENV/.meshlens-pip.stamp"
NPM_STAMP=node_modules/.meshlens-npm.stamp

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# --- Debian packages -----------------------------------------------------------------------

apt_missing=()
want_chromium=0
need_binary() {  # need_binary BINARY PACKAGE...
    local binary="$1"
    shift
    if ! command -v "$binary" >/dev/null 2>&1; then
        apt_missing+=("$@")
    fi
}
need_binary prometheus prometheus
need_binary promtool prometheus
need_binary redis-server redis-server
need_binary dot graphviz  # format=svg of /api/v1/graph, and its tests
need_binary npm nodejs npm
need_binary gcc gcc  # graph/*.pyx, compiled below
if ! command -v chromium >/dev/null 2>&1; then
    want_chromium=1
fi
if [ ! -x "$VENV/bin/python" ] && ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_missing+=(python3-venv)
fi

# Installing Debian's prometheus and redis-server packages would start their system
# services where an init system allows it. Meshlens never uses those services and they
# would sit on 9090 and 6379, so service starts are refused during the install (the
# standard policy-rc.d mechanism, also honoured by deb-systemd-invoke).
created_policy=0
remove_policy() {
    if [ "$created_policy" -eq 1 ]; then
        as_root rm -f /usr/sbin/policy-rc.d
    fi
}

apt_install() {
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# Temporary, from Meshlens scripts/setup.sh.\nexit 101\n' |
            as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
        trap remove_policy EXIT
    fi
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "$@"
    remove_policy
    created_policy=0
}

warn_listeners() {
    command -v ss >/dev/null 2>&1 || return 0
    local port
    for port in 9090 6379; do
        if ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
            say "note: something listens on port $port; Meshlens does not use system" \
                "services and picks another free port for its own."
        fi
    done
}

if [ "${#apt_missing[@]}" -gt 0 ] || [ "$want_chromium" -eq 1 ]; then
    as_root apt-get update -q
    if [ "$want_chromium" -eq 1 ]; then
        # Chromium is only for the browser tests; where the distribution has no plain
        # "chromium" package (Ubuntu ships a snap wrapper), the demo still runs.
        if apt-cache show chromium >/dev/null 2>&1; then
            apt_missing+=(chromium)
        else
            say "warning: no 'chromium' package here; the browser tests will fail"
        fi
    fi
    if [ "${#apt_missing[@]}" -gt 0 ]; then
        # Drop duplicates (prometheus is wanted for two binaries).
        mapfile -t apt_missing < <(printf '%s\n' "${apt_missing[@]}" | sort -u)
        say "installing Debian packages: ${apt_missing[*]}"
        apt_install "${apt_missing[@]}"
        warn_listeners
    fi
fi

# --- Python virtualenv -----------------------------------------------------------------------

if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'pass' >/dev/null 2>&1; then
    say "$VENV is broken (its Python moved?); recreating it"
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "Meshlens needs Python 3.11 or newer; set PYTHON=/path/to/python3.11"
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
# DATABASE_URL=postgres://... (e.g. `DATABASE_URL=postgres://... make test`) needs psycopg,
# the `postgres` extra.
extras=test
need_psycopg=0
case "${DATABASE_URL:-}" in
    postgres*|pgsql*) extras=test,postgres
        "$VENV/bin/python" -c 'import psycopg' >/dev/null 2>&1 || need_psycopg=1 ;;
esac
if [ ! -f "$PIP_STAMP" ] || [ pyproject.toml -nt "$PIP_STAMP" ] || [ "$need_psycopg" -eq 1 ]; then
    say "installing Python packages into $VENV"
    "$VENV/bin/pip" install --disable-pip-version-check --quiet -e ".[$extras]"
    touch "$PIP_STAMP"
fi

# graph/*.pyx (the compiled loops of issue 7: remote read's decoder, the JSON writer): compiled
# in place when a module is missing or older than a source or a shared .pxd. Python's headers come with the interpreter (Debian's python3-dev
# for a Debian Python).
if ! "$VENV/bin/python" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
    say "installing Debian package: python3-dev (Python's headers, for graph/*.pyx)"
    as_root apt-get update -q
    apt_install python3-dev
fi
compile=0
for source in graph/*.pyx; do
    shopt -s nullglob
    built=("${source%.pyx}".*.so)
    shopt -u nullglob
    if [ "${#built[@]}" -eq 0 ] || [ "$source" -nt "${built[0]}" ] ||
        [ graph/protobuf_wire.pxd -nt "${built[0]}" ]; then
        compile=1
    fi
done
if [ "$compile" -eq 1 ]; then
    say "compiling graph/*.pyx"
    "$VENV/bin/cythonize" --inplace --force -3 graph/*.pyx >/dev/null
fi

# --- npm packages ----------------------------------------------------------------------------

if [ -f package-lock.json ]; then
    if [ ! -f "$NPM_STAMP" ] || [ package-lock.json -nt "$NPM_STAMP" ] ||
        [ package.json -nt "$NPM_STAMP" ]; then
        say "installing npm packages (npm ci)"
        npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
        touch "$NPM_STAMP"
    fi
else
    say "warning: no package-lock.json; skipping npm packages (the page needs them)"
fi

# --- database --------------------------------------------------------------------------------

# --skip-checks: migrating needs the models only; a broken view must fail its tests, not
# stop the install (and with it every test run).
"$VENV/bin/python" manage.py migrate --noinput --skip-checks --verbosity 0
say "ready"

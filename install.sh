#!/usr/bin/env bash
# Install or upgrade kefu as a systemd service on this machine.
#
#   sudo bash install.sh [--no-start] [BINARY]      (BINARY: default ./target/release/kefu)
#
# Installs BINARY as /usr/local/bin/kefu (atomic replace), creates the system
# user `kefu` and the data folder /var/lib/kefu (mode 0750), writes
# /etc/systemd/system/kefu.service and, when systemd is running, enables and
# starts it (restarts it when it was already running). Running it again
# upgrades the binary and rewrites the unit; the data folder is never touched
# beyond its owner and mode.
#
# Environment:
#   KEFU_LISTEN  address:port written into the unit (default 0.0.0.0:8080, or
#                the value already in an existing unit). A port below 1024 adds
#                AmbientCapabilities=CAP_NET_BIND_SERVICE to the unit.
#   DESTDIR      prefix for every installed path (packaging, tests); implies
#                --no-start and skips creating the system user.
# See docs/deploy.md.
set -euo pipefail

SERVICE=kefu
USER_NAME=kefu
DATA_DIR=/var/lib/kefu
BIN_PATH=/usr/local/bin/kefu
UNIT_PATH=/etc/systemd/system/kefu.service
ENV_FILE=/etc/kefu.env
DEFAULT_LISTEN=0.0.0.0:8080

say() { printf '==> %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}

usage() {
    cat <<'EOF'
Usage: sudo bash install.sh [--no-start] [BINARY]

  BINARY      the kefu binary to install (default: ./target/release/kefu)
  --no-start  write everything but do not enable, start or restart the service

Environment: KEFU_LISTEN=ADDR:PORT (default 0.0.0.0:8080), DESTDIR=/prefix.
Details: docs/deploy.md
EOF
}

all_args="$*"
no_start=0
src=""
while [ $# -gt 0 ]; do
    case "$1" in
    --no-start) no_start=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
        [ -z "$src" ] || die "give at most one binary path (see --help)"
        src=$1
        ;;
    esac
    shift
done
src=${src:-./target/release/kefu}

destdir=${DESTDIR:-}
destdir=${destdir%/}
if [ -n "$destdir" ]; then
    no_start=1
fi

# --- checks -----------------------------------------------------------------

if [ ! -e "$src" ]; then
    die "no binary at $src — build it first (cargo build --release) or pass its path: bash install.sh /path/to/kefu"
fi
[ -f "$src" ] || die "$src is not a regular file"
[ -x "$src" ] || die "$src is not executable"
# Run it once, with no KEFU_* variables around, to prove it runs on this machine.
if ! new_version=$(env -i PATH=/usr/bin:/bin "$src" --version 2>&1); then
    die "$src does not run here (wrong architecture or not kefu?): $new_version"
fi
case "$new_version" in
kefu\ *) ;;
*) die "$src does not look like kefu (--version said: $new_version)" ;;
esac

if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root: sudo bash install.sh $all_args"
fi

port_of() { printf '%s' "${1##*:}"; }

valid_listen() {
    local port
    case "$1" in
    *:*) ;;
    *) return 1 ;;
    esac
    port=$(port_of "$1")
    case "$port" in
    '' | *[!0-9]*) return 1 ;;
    esac
    [ "$port" -ge 1 ] && [ "$port" -le 65535 ]
}

# The listen address: KEFU_LISTEN from the caller, else the one in the unit
# written last time (so an upgrade keeps it), else the default.
listen=${KEFU_LISTEN:-}
if [ -z "$listen" ] && [ -f "$destdir$UNIT_PATH" ]; then
    listen=$(sed -n 's/^Environment=KEFU_LISTEN=//p' "$destdir$UNIT_PATH" | tail -n 1)
fi
listen=${listen:-$DEFAULT_LISTEN}
valid_listen "$listen" || die "KEFU_LISTEN must look like 0.0.0.0:8080 or [::]:443, got '$listen'"

# /etc/kefu.env can override KEFU_LISTEN (EnvironmentFile= beats Environment=).
effective_listen=$listen
if [ -f "$destdir$ENV_FILE" ]; then
    from_env_file=$(sed -n 's/^[[:space:]]*KEFU_LISTEN[[:space:]]*=[[:space:]]*//p' "$destdir$ENV_FILE" |
        tail -n 1 | tr -d "\"' \t\r")
    if [ -n "$from_env_file" ]; then
        valid_listen "$from_env_file" || die "$ENV_FILE: KEFU_LISTEN must look like 0.0.0.0:8080, got '$from_env_file'"
        effective_listen=$from_env_file
    fi
fi
low_port=0
if [ "$(port_of "$listen")" -lt 1024 ] || [ "$(port_of "$effective_listen")" -lt 1024 ]; then
    low_port=1
fi

# --- user and data folder ---------------------------------------------------

have_user=0
if getent passwd "$USER_NAME" >/dev/null; then
    have_user=1
    say "system user $USER_NAME exists"
elif [ -n "$destdir" ]; then
    warn "DESTDIR is set: not creating the system user $USER_NAME; files stay owned by $(id -un)"
else
    nologin=/usr/sbin/nologin
    for candidate in /usr/sbin/nologin /sbin/nologin /bin/false; do
        if [ -x "$candidate" ]; then
            nologin=$candidate
            break
        fi
    done
    useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
        --shell "$nologin" --comment "kefu customer service" "$USER_NAME"
    have_user=1
    say "created system user $USER_NAME (home $DATA_DIR, shell $nologin)"
fi

existing_data=0
[ -e "$destdir$DATA_DIR/kefu.db" ] && existing_data=1
mkdir -p "$destdir$DATA_DIR"
chmod 0750 "$destdir$DATA_DIR"
if [ "$have_user" -eq 1 ]; then
    chown "$USER_NAME:$USER_NAME" "$destdir$DATA_DIR"
fi
if [ "$existing_data" -eq 1 ]; then
    say "data folder $DATA_DIR kept (kefu.db present)"
else
    owner=$USER_NAME
    [ "$have_user" -eq 1 ] || owner=$(id -un)
    say "data folder $DATA_DIR ready (owner $owner, mode 0750)"
fi

# --- binary (atomic replace) --------------------------------------------------

tmp_files=()
cleanup() {
    if [ "${#tmp_files[@]}" -gt 0 ]; then
        rm -f "${tmp_files[@]}"
    fi
}
trap cleanup EXIT

old_version=""
if [ -x "$destdir$BIN_PATH" ]; then
    old_version=$(env -i PATH=/usr/bin:/bin "$destdir$BIN_PATH" --version 2>/dev/null || echo "unknown version")
fi
mkdir -p "$(dirname "$destdir$BIN_PATH")"
tmp_bin=$(mktemp "$(dirname "$destdir$BIN_PATH")/.kefu.new.XXXXXX")
tmp_files+=("$tmp_bin")
cp "$src" "$tmp_bin"
chmod 0755 "$tmp_bin"
if [ -z "$destdir" ]; then
    chown root:root "$tmp_bin"
fi
# rename(2) on the same file system: a running kefu keeps its old inode, a new
# start gets the new file, nobody ever sees half a binary.
mv -f "$tmp_bin" "$destdir$BIN_PATH"
if [ -n "$old_version" ]; then
    say "replaced $BIN_PATH ($old_version -> $new_version)"
else
    say "installed $BIN_PATH ($new_version)"
fi

# --- optional settings file ---------------------------------------------------

if [ ! -e "$destdir$ENV_FILE" ]; then
    mkdir -p "$(dirname "$destdir$ENV_FILE")"
    cat >"$destdir$ENV_FILE" <<'EOF'
# Settings for the kefu service; they override the Environment= lines of
# /etc/systemd/system/kefu.service. Uncomment, edit, then: systemctl restart kefu
# A port below 1024 here needs a rerun of install.sh (it adds CAP_NET_BIND_SERVICE).
#KEFU_LISTEN=127.0.0.1:8080
#KEFU_BASE_URL=https://kefu.example.com
#KEFU_TRUSTED_PROXIES=loopback
#KEFU_LOG_FORMAT=json
#KEFU_TLS_CERT=/etc/kefu/tls/fullchain.pem
#KEFU_TLS_KEY=/etc/kefu/tls/privkey.pem
EOF
    chmod 0640 "$destdir$ENV_FILE"
    if [ "$have_user" -eq 1 ] && [ -z "$destdir" ]; then
        chown "root:$USER_NAME" "$destdir$ENV_FILE"
    fi
    say "wrote $ENV_FILE (all settings commented out)"
fi

# --- systemd unit -----------------------------------------------------------

if [ "$low_port" -eq 1 ]; then
    caps="# Port below 1024: allowed to bind it, and nothing else.
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
AmbientCapabilities=CAP_NET_BIND_SERVICE"
else
    caps="# Port 1024 or above: no capabilities at all (rerun install.sh with a port
# below 1024 in KEFU_LISTEN or $ENV_FILE to get CAP_NET_BIND_SERVICE).
CapabilityBoundingSet="
fi

mkdir -p "$(dirname "$destdir$UNIT_PATH")"
tmp_unit=$(mktemp "$(dirname "$destdir$UNIT_PATH")/.kefu.service.XXXXXX")
tmp_files+=("$tmp_unit")
cat >"$tmp_unit" <<EOF
# Written by kefu's install.sh; rerunning it rewrites this file.
# Settings belong in $ENV_FILE or $DATA_DIR/kefu.toml (the listen address
# only in $ENV_FILE: KEFU_LISTEN below beats kefu.toml); other changes in a
# drop-in: systemctl edit $SERVICE
[Unit]
Description=kefu customer service for WeChat Official Accounts
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=$USER_NAME
Group=$USER_NAME
Environment=KEFU_DATA=$DATA_DIR
Environment=KEFU_LISTEN=$listen
EnvironmentFile=-$ENV_FILE
ExecStart=$BIN_PATH serve
Restart=on-failure
RestartSec=3
TimeoutStopSec=30
UMask=0027

# Hardening: read-only system, writable data folder only.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=$DATA_DIR
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
RestrictRealtime=yes
LockPersonality=yes
$caps

[Install]
WantedBy=multi-user.target
EOF
chmod 0644 "$tmp_unit"
if [ -f "$destdir$UNIT_PATH" ] && cmp -s "$tmp_unit" "$destdir$UNIT_PATH"; then
    say "$UNIT_PATH unchanged"
else
    mv -f "$tmp_unit" "$destdir$UNIT_PATH"
    cap_note=""
    if [ "$low_port" -eq 1 ]; then cap_note=", CAP_NET_BIND_SERVICE"; fi
    say "wrote $UNIT_PATH (KEFU_LISTEN=$listen$cap_note)"
fi

# --- start --------------------------------------------------------------------

manual_start="sudo -u $USER_NAME KEFU_DATA=$DATA_DIR KEFU_LISTEN=$effective_listen $BIN_PATH serve"
systemd_up=0
[ -d /run/systemd/system ] && systemd_up=1

if [ -n "$destdir" ]; then
    say "DESTDIR=$destdir: nothing started"
elif [ "$systemd_up" -eq 0 ]; then
    say "systemd is not running on this machine: the service was not enabled or started"
    echo "    start kefu by hand (or from your init system) with:"
    echo "      $manual_start"
    echo "    (without sudo: runuser -u $USER_NAME -- env KEFU_DATA=$DATA_DIR KEFU_LISTEN=$effective_listen $BIN_PATH serve)"
elif [ "$no_start" -eq 1 ]; then
    systemctl daemon-reload
    if systemctl is-active --quiet "$SERVICE"; then
        say "--no-start: $SERVICE keeps running the old binary until: systemctl restart $SERVICE"
    else
        say "--no-start: start it with: systemctl enable --now $SERVICE"
    fi
else
    was_active=0
    systemctl is-active --quiet "$SERVICE" && was_active=1
    systemctl daemon-reload
    systemctl enable --now "$SERVICE"
    if [ "$was_active" -eq 1 ]; then
        systemctl restart "$SERVICE"
        say "restarted $SERVICE on the new binary"
    else
        say "enabled and started $SERVICE"
    fi
    sleep 2
    if ! systemctl is-active --quiet "$SERVICE"; then
        warn "$SERVICE is not running; see: journalctl -u $SERVICE -n 50"
        exit 1
    fi
fi

# --- next step ----------------------------------------------------------------

port=$(port_of "$effective_listen")
case "$effective_listen" in
0.0.0.0:* | "[::]:"*) host=SERVER ;;
*) host=${effective_listen%:*} ;;
esac
scheme=http
if grep -Eq '^[[:space:]]*KEFU_TLS_CERT[[:space:]]*=[[:space:]]*[^[:space:]]' "$destdir$ENV_FILE" 2>/dev/null; then
    scheme=https
fi
echo
if [ -n "$old_version" ]; then
    echo "Done: $BIN_PATH is $new_version; the data in $DATA_DIR was kept."
    if [ "$systemd_up" -eq 0 ] || [ "$no_start" -eq 1 ]; then
        echo "A kefu that is already running keeps the old binary until you restart it."
    fi
elif [ "$existing_data" -eq 1 ]; then
    echo "Done: kefu installed; it will use the existing data in $DATA_DIR."
else
    echo "Next: open $scheme://$host:$port/ in a browser to create the super admin."
    echo "      It asks for the one-time setup code kefu printed at start:"
    echo "      cat ${DESTDIR:-}/var/lib/kefu/setup-code.txt   (or: journalctl -u kefu | grep setup)"
fi
echo "For WeChat, put HTTPS in front of kefu (WeChat calls only ports 80 and 443):"
echo "see docs/deploy.md (Caddy or nginx, then KEFU_BASE_URL and KEFU_TRUSTED_PROXIES in $ENV_FILE)."

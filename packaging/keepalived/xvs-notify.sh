#!/bin/sh
# packaging/keepalived/xvs-notify.sh — keepalived notify script for xvs: switches this director's
# connection sync role when its VRRP instance changes state, so the director holding the VIP is the
# sync master and the other one keeps receiving the connection table.
#
#   notify "/usr/bin/env XVS_SYNC_IFACE=eth1 XVS_SYNC_ID=51 /usr/local/lib/xvs/xvs-notify.sh"
#
# keepalived calls it as: xvs-notify.sh TYPE NAME STATE [PRIORITY]   (TYPE = INSTANCE|GROUP)
#   MASTER        -> xvsadm --stop-daemon backup; xvsadm --start-daemon master ...
#   BACKUP, FAULT -> xvsadm --stop-daemon master; xvsadm --start-daemon backup ...
#   STOP, DELETED -> both stopped
# A daemon that is not running (stop) or already running (start) is what we want: not an error.
#
# Environment:
#   XVS_SYNC_IFACE  required: the interface sync messages use (xvsadm --mcast-interface)
#   XVS_SYNC_ID     sync id 0..255 (--syncid), default 0; both directors must use the same
#   XVS_SYNC_PEERS  optional: space-separated unicast peers ADDR[:PORT] (--sync-peer, xvs's own)
#                   instead of the multicast group
#   XVSADM          the xvsadm program, default: xvsadm from PATH
# Exit status: 0 when the role is as asked, 1 when xvsadm failed for another reason, 2 on bad usage.

PROG=xvs-notify

log() {
    printf '%s: %s\n' "$PROG" "$*" >&2
    if command -v logger >/dev/null 2>&1; then
        logger -t "$PROG" -- "$*" 2>/dev/null || :
    fi
}

usage() {
    log "usage: $0 TYPE NAME STATE [PRIORITY] (STATE: MASTER, BACKUP, FAULT, STOP or DELETED)"
    exit 2
}

[ "$#" -ge 3 ] || usage
VRRP_TYPE=$1
VRRP_NAME=$2
VRRP_STATE=$3
XVSADM=${XVSADM:-xvsadm}
XVS_SYNC_ID=${XVS_SYNC_ID:-0}

case $XVS_SYNC_ID in
    ''|*[!0-9]*) log "XVS_SYNC_ID must be a number 0..255, not '$XVS_SYNC_ID'"; exit 2 ;;
esac

# stop_role ROLE: a daemon that is not running is fine.
stop_role() {
    out=$("$XVSADM" --stop-daemon "$1" 2>&1)
    rc=$?
    [ "$rc" -eq 0 ] && return 0
    case $out in
        *'No daemon is running'*) return 0 ;;
    esac
    log "xvsadm --stop-daemon $1 failed (exit $rc): $out"
    return 1
}

# start_role ROLE: a daemon that already runs is fine.
start_role() {
    set -- --start-daemon "$1" --mcast-interface "$XVS_SYNC_IFACE" --syncid "$XVS_SYNC_ID"
    for peer in $XVS_SYNC_PEERS; do
        set -- "$@" --sync-peer "$peer"
    done
    out=$("$XVSADM" "$@" 2>&1)
    rc=$?
    [ "$rc" -eq 0 ] && return 0
    case $out in
        *'Daemon has already run'*) return 0 ;;
    esac
    log "xvsadm $* failed (exit $rc): $out"
    return 1
}

case $VRRP_STATE in
    MASTER|BACKUP|FAULT)
        if [ -z "${XVS_SYNC_IFACE:-}" ]; then
            log "XVS_SYNC_IFACE is not set (the sync interface, e.g. eth1)"
            exit 2
        fi
        ;;
    STOP|DELETED) ;;
    *) usage ;;
esac

# keepalived starts a notify script for every transition without waiting for the previous one, and one
# run takes a while (two xvsadm calls): a BACKUP at start-up and the MASTER right after would interleave
# and leave both roles running. One lock per network namespace keeps the transitions of this director in
# order (flock(1), util-linux). XVS_NOTIFY_LOCK overrides the lock file.
if command -v flock >/dev/null 2>&1; then
    ns=$(stat -L -c %i /proc/self/ns/net 2>/dev/null || echo host)
    lock=${XVS_NOTIFY_LOCK:-/run/xvs-notify-ns$ns.lock}
    if exec 9>>"$lock"; then
        flock 9 || log "cannot lock $lock; going on unserialised"
    fi
fi

status=0
case $VRRP_STATE in
    MASTER)
        stop_role backup || status=1
        start_role master || status=1
        role='sync master'
        ;;
    BACKUP|FAULT)
        stop_role master || status=1
        start_role backup || status=1
        role='sync backup'
        ;;
    STOP|DELETED)
        stop_role master || status=1
        stop_role backup || status=1
        role='no sync daemon'
        ;;
esac

if [ "$status" -eq 0 ]; then
    log "$VRRP_TYPE $VRRP_NAME is $VRRP_STATE${4:+ (priority $4)}: $role"
else
    log "$VRRP_TYPE $VRRP_NAME is $VRRP_STATE${4:+ (priority $4)}: switching to $role failed"
fi
exit "$status"

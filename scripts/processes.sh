# Shared by the check scripts: orderflow processes, dev-issuer tokens and a
# buyer's official SignalR client, all keeping their files in "$work".
# Sourced, not run; the caller sets `work` and keeps the array `pids`.

# Starts `BINARY ARGS...` as NAME (output in $work/NAME.out and .log, pid in
# $work/NAME.pid, since callers run this in a command substitution); prints
# the address it listens on, or fails.
start_orderflow() {
    local binary=$1 name=$2
    shift 2
    "$binary" "$@" >"$work/$name.out" 2>"$work/$name.log" &
    echo $! >"$work/$name.pid"
    local address
    for _ in $(seq 1 100); do
        address=$(sed -n 's/^orderflow is listening on //p' "$work/$name.out")
        [ -n "$address" ] && { echo "$address"; return; }
        sleep 0.1
    done
    echo "error: $name did not start; log in $work/$name.log" >&2
    exit 1
}

# A password-grant access token of USER (password = user name) from the dev
# issuer listening on ADDRESS.
dev_token() {
    curl -sf "http://$1/realms/orderflow/protocol/openid-connect/token" \
        -d grant_type=password -d client_id=orderflow-web -d username="$2" -d password="$2" |
        jq -r .access_token
}

# The official client of TOKEN on the hub at ADDRESS, answering every push,
# for at most SECONDS: its events in $work/NAME.events, stdin kept open on
# file descriptor 3. Waits until it is connected.
start_signalr_client() {
    local name=$1 address=$2 token=$3 seconds=$4
    mkfifo "$work/$name.in"
    (cd crates/testkit/signalr-client &&
        SIGNALR_CLIENT_MAX_SECONDS=$seconds exec node client.mjs "http://$address/hubs/push-updates" "$token" result \
            <"$work/$name.in" >"$work/$name.events" 2>"$work/$name.log") &
    pids+=($!)
    exec 3>"$work/$name.in"
    for _ in $(seq 1 100); do grep -q '"connected"' "$work/$name.events" 2>/dev/null && break; sleep 0.1; done
}

# How many of the order ids in IDS_FILE the client NAME received an
# `order-confirmed` push for, waiting up to two minutes for all of them.
confirmed_pushes_received() {
    local name=$1 ids=$2 expected got
    expected=$(wc -l <"$ids")
    for _ in $(seq 1 120); do
        got=$(jq -r 'select(.event == "push" and .update.type == "order-confirmed") | .update.orderId' \
            "$work/$name.events" | sort -u | grep -cxFf "$ids" || true)
        [ "$got" -ge "$expected" ] && break
        sleep 1
    done
    echo "$got"
}

# Shared by the load scripts (sourced, not run): the tools they need, free loopback ports,
# and a work directory whose processes (`pids`, and nginx's) are stopped and whose files
# are removed on exit.

# needs WHO TOOL...: stops with a message naming the first missing tool.
needs() {
    local who=$1
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$who needs $tool (apt-get install $*)" >&2; exit 1; }
    done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [[ -f $work/nginx.pid ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

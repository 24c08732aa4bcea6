#!/bin/sh
# Starts workerd with V8 flags in its config (workerd-v8-flags.mjs says why). Miniflare runs
# this in workerd's place (MINIFLARE_WORKERD_PATH, set by workerd-v8-flags-launch.ts) with workerd's own
# arguments, the binary config on stdin and its control pipe on fd 3. workerd is exec'd, so it
# keeps this process's id: Miniflare's signals reach it and the watchdog finds it by name.
set -eu
config=$(mktemp)
trap 'rm -f "$config"' EXIT
"$LOCAL_RUNTIME_NODE" "$(dirname "$0")/workerd-v8-flags.mjs" $LOCAL_RUNTIME_V8_FLAGS >"$config"
exec <"$config"
rm -f "$config"
exec "$LOCAL_RUNTIME_WORKERD" "$@"

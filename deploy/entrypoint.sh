#!/bin/sh
# The image's entry point: `chatops migrate` first when CHATOPS_MIGRATE=1 and the command
# is `serve`, then the command itself (any `chatops` sub-command) in place of this shell.
set -eu
if [ "${1:-serve}" = "serve" ] && [ "${CHATOPS_MIGRATE:-0}" = "1" ]; then
    chatops migrate
fi
exec chatops "$@"

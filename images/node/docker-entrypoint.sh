#!/bin/sh
# Same rule as the official node image: arguments that are not a command (a flag such as
# `-e`, or a script path that is not executable) are arguments to node.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1" || true)" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
	set -- node "$@"
fi
exec "$@"

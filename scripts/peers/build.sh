#!/usr/bin/env bash
# build.sh builds the two reference servers that chatbench measures beside
# the service (-target gorilla|centrifugo) into a cache folder outside the
# repository, from the Go module cache and proxy; nothing of theirs is
# committed. It is idempotent: a binary already built at the wanted version
# is kept. It prints where the binaries are.
#
#   CHAT_PEERS_DIR   cache folder (default $HOME/.cache/chat-peers)
#   CENTRIFUGO_VERSION  Centrifugo module version (default v6.9.1)
#
# Binaries: $CHAT_PEERS_DIR/bin/gorilla-chat (the gorilla/websocket
# examples/chat server at the version in go.mod, -addr flag) and
# $CHAT_PEERS_DIR/bin/centrifugo.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${CHAT_PEERS_DIR:-$HOME/.cache/chat-peers}"
cver="${CENTRIFUGO_VERSION:-v6.9.1}"
mkdir -p "$dir/bin" "$dir/src"
export GOFLAGS="-buildvcs=false"

# The gorilla/websocket chat example, at the version the service uses.
gver="$(cd "$repo" && go list -m -f '{{.Version}}' github.com/gorilla/websocket)"
gstamp="$dir/bin/gorilla-chat.version"
if [ ! -x "$dir/bin/gorilla-chat" ] || [ "$(cat "$gstamp" 2>/dev/null)" != "$gver" ]; then
	moddir="$(cd "$repo" && go mod download -json "github.com/gorilla/websocket@$gver" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
	src="$dir/src/gorilla-chat"
	rm -rf "$src"
	mkdir -p "$src"
	cp "$moddir"/examples/chat/*.go "$moddir"/examples/chat/home.html "$src"/
	chmod -R u+w "$src"
	printf 'module gorillachat\n\ngo 1.22\n\nrequire github.com/gorilla/websocket %s\n' "$gver" >"$src/go.mod"
	(cd "$src" && go mod download github.com/gorilla/websocket && go mod tidy && go build -o "$dir/bin/gorilla-chat" .)
	echo "$gver" >"$gstamp"
fi

# Centrifugo, from the module proxy. A build without release flags reports
# version 0.0.0, so the version built is kept beside the binary.
cstamp="$dir/bin/centrifugo.version"
if [ ! -x "$dir/bin/centrifugo" ] || [ "$(cat "$cstamp" 2>/dev/null)" != "$cver" ]; then
	(cd "$dir" && GOBIN="$dir/bin" go install "github.com/centrifugal/centrifugo/v6@$cver")
	echo "$cver" >"$cstamp"
fi

echo "gorilla chat example $gver: $dir/bin/gorilla-chat"
echo "centrifugo $cver: $dir/bin/centrifugo"

#!/usr/bin/env bash
# sidebyside.sh measures the service, the gorilla/websocket chat example and
# Centrifugo in one sitting with chatbench: the rows of "Side by side" in
# docs/BENCHMARKS.md, each target started by chatbench with -server-bin.
# It builds the service, chatbench and (through build.sh) the peers first,
# refuses to start while the one-minute load average is 3 or more (figures
# taken on a busy machine are not comparable), and appends every JSON line
# to $OUT (default docs/benchmarks/side-by-side-DATE.jsonl). Every run goes
# to loopback only and is bounded by chatbench's -timeout.
#
#   FORCE=1  run even when the machine is loaded
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${CHAT_PEERS_DIR:-$HOME/.cache/chat-peers}"
out="${OUT:-$repo/docs/benchmarks/side-by-side-$(date -u +%F).jsonl}"

load="$(cut -d' ' -f1 /proc/loadavg)"
if [ "${FORCE:-}" != 1 ] && awk -v l="$load" 'BEGIN { exit !(l >= 3) }'; then
	echo "load average $load is 3 or more: not measuring (FORCE=1 to run anyway)" >&2
	exit 1
fi

bash "$repo/scripts/peers/build.sh"
(cd "$repo" && go build -o /tmp/chat-api ./cmd/api && go build -o /tmp/chatbench ./cmd/chatbench)

declare -A bin=([chat]=/tmp/chat-api [gorilla]="$dir/bin/gorilla-chat" [centrifugo]="$dir/bin/centrifugo")
rows=(
	"idle -sockets 10000 -rooms 100 -settle 30s -compress=false"
	"fanout -members 1000 -senders 10 -rate 100 -duration 20s -compress=false"
	"fanout -members 1000 -senders 10 -rate 100 -duration 20s -compress=true"
	"fanout -members 10000 -senders 10 -rate 2 -duration 20s -compress=false"
)
mkdir -p "$(dirname "$out")"
for row in "${rows[@]}"; do
	for target in chat gorilla centrifugo; do
		# The gorilla example has no permessage-deflate.
		if [ "$target" = gorilla ] && [[ "$row" == *compress=true* ]]; then continue; fi
		echo "== $target: -scenario $row" >&2
		# shellcheck disable=SC2086 # the row is a list of flags
		/tmp/chatbench -target "$target" -server-bin "${bin[$target]}" -timeout 4m -scenario $row |
			grep '^{"scenario":' | tee -a "$out"
	done
done
# The service alone: the fan-out row again with a write delay that joins
# about five of a socket's frames in one write (see "A delay between
# writes" in docs/BENCHMARKS.md).
echo "== chat: fan-out with CHAT_WS_WRITE_DELAY=50ms" >&2
/tmp/chatbench -target chat -server-bin /tmp/chat-api -server-env CHAT_WS_WRITE_DELAY=50ms -timeout 4m \
	-scenario fanout -members 1000 -senders 10 -rate 100 -duration 20s -compress=false |
	grep '^{"scenario":' | sed 's/^{/{"write_delay":"50ms",/' | tee -a "$out"
echo "results appended to $out" >&2

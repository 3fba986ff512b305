#!/usr/bin/env bash
# End-to-end check of the service's metrics with a real Prometheus.
#
# Builds cmd/api and starts it on loopback (temporary SQLite database,
# /metrics on its own CHAT_METRICS_ADDR), lints a scrape with
# `promtool check metrics`, starts Prometheus (Debian package prometheus)
# scraping it every second, drives logins and WebSocket messages through it
# (scripts/promtraffic), then asks the Prometheus HTTP API for
# up{job="chat"} == 1 and rate(chat_messages_stored_total[15s]) > 0.
#
# Everything it starts is stopped and its temporary files removed on exit.
# After the build it takes at most E2E_BUDGET seconds (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."

budget=${E2E_BUDGET:-60}
messages=20
started=$SECONDS

say() { printf 'prom-e2e: %s\n' "$*"; }
fail() {
	say "FAIL: $*" >&2
	for f in api.log prometheus.log; do
		if [ -s "$tmp/$f" ]; then
			printf -- '--- last lines of %s\n' "$f" >&2
			tail -n 20 "$tmp/$f" >&2
		fi
	done
	exit 1
}

for bin in prometheus promtool curl; do
	if ! command -v "$bin" >/dev/null; then
		if [ "$bin" = curl ]; then pkg=curl; else pkg=prometheus; fi
		say "installing $pkg"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/prom-e2e.XXXXXX")
api_pid=""
prom_pid=""
cleanup() {
	local pid
	for pid in "$prom_pid" "$api_pid"; do
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "building"
go build -o "$tmp/api" ./cmd/api
go build -o "$tmp/promtraffic" ./scripts/promtraffic
deadline=$((SECONDS + budget))

# left prints the seconds left in the budget, failing when none are.
left() {
	local n=$((deadline - SECONDS))
	[ "$n" -gt 0 ] || fail "out of time ($budget s) $*"
	echo "$n"
}

# query prints the JSON answer of the Prometheus HTTP API to a PromQL query.
query() {
	curl -fsS --max-time 5 "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1"
}

# has_result reports whether a query answer holds at least one series.
has_result() {
	grep -q '"status":"success"' <<<"$1" && ! grep -q '"result":\[\]' <<<"$1"
}

# value prints the value of the first series of a query answer.
value() {
	sed -n 's/.*"value":\[[^,]*,"\([^"]*\)"\].*/\1/p' <<<"$1"
}

# The service: the API on a port of its choosing, /metrics on its own port.
metrics_port=$("$tmp/promtraffic" -free-port)
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
: >"$tmp/api.out"
CHAT_ADDR=127.0.0.1:0 \
	CHAT_METRICS_ADDR=127.0.0.1:$metrics_port \
	CHAT_DB_URL="sqlite:$tmp/chat.db" \
	CHAT_JWT_SECRET="$secret" \
	CHAT_LOG_LEVEL=info \
	"$tmp/api" >"$tmp/api.out" 2>"$tmp/api.log" &
api_pid=$!
addr=""
while [ -z "$addr" ]; do
	left "waiting for the service to listen" >/dev/null
	kill -0 "$api_pid" 2>/dev/null || fail "the service exited"
	addr=$(sed -n 's/^listening on //p' "$tmp/api.out")
	[ -n "$addr" ] || sleep 0.1
done
metrics_url="http://127.0.0.1:$metrics_port/metrics"
until curl -fsS --max-time 2 -o "$tmp/metrics.txt" "$metrics_url" 2>/dev/null; do
	left "waiting for $metrics_url" >/dev/null
	sleep 0.1
done
say "service on $addr, metrics on 127.0.0.1:$metrics_port"

# With CHAT_METRICS_ADDR set, the public address does not serve /metrics.
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://$addr/metrics")
[ "$code" = 404 ] || fail "/metrics on CHAT_ADDR answered $code, want 404 when CHAT_METRICS_ADDR is set"

# promtool lints a real scrape: any output is a problem.
if ! lint=$(promtool check metrics <"$tmp/metrics.txt" 2>&1) || [ -n "$lint" ]; then
	fail "promtool check metrics: $lint"
fi
grep -q '^chat_messages_stored_total 0$' "$tmp/metrics.txt" || fail "chat_messages_stored_total is not exported at 0 before any traffic"

# Prometheus, scraping the service every second.
prom_port=$("$tmp/promtraffic" -free-port)
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: chat
    metrics_path: /metrics
    static_configs:
      - targets: ["127.0.0.1:$metrics_port"]
EOF
promtool check config "$tmp/prometheus.yml" >/dev/null || fail "generated Prometheus config is invalid"
prometheus \
	--config.file="$tmp/prometheus.yml" \
	--storage.tsdb.path="$tmp/tsdb" \
	--web.listen-address="127.0.0.1:$prom_port" \
	--log.level=warn \
	>"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
until curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$prom_port/-/ready" 2>/dev/null; do
	left "waiting for Prometheus to be ready" >/dev/null
	kill -0 "$prom_pid" 2>/dev/null || fail "Prometheus exited"
	sleep 0.2
done
say "prometheus on 127.0.0.1:$prom_port"

# up == 1: Prometheus scraped the service.
until has_result "$(query 'up{job="chat"} == 1' || true)"; do
	left 'waiting for up{job="chat"} == 1' >/dev/null
	sleep 0.5
done

# Traffic: a failed and a good login, then messages over /ws.
"$tmp/promtraffic" -base "http://$addr" -n "$messages" -every 100ms -timeout "$(left "before the traffic")s" ||
	fail "traffic generation failed"

# The messages show up as a rate and as the exact count.
rate_q='rate(chat_messages_stored_total{job="chat"}[15s]) > 0'
count_q="chat_messages_stored_total{job=\"chat\"} == $messages"
while true; do
	left "waiting for $rate_q and $count_q" >/dev/null
	rate_a=$(query "$rate_q" || true)
	count_a=$(query "$count_q" || true)
	if has_result "$rate_a" && has_result "$count_a"; then break; fi
	sleep 0.5
done
logins=$(value "$(query 'sum(chat_auth_logins_total{job="chat", result="success"})')")
[ "$logins" = 1 ] || fail "Prometheus sees $logins successful logins, want 1"

say "ok: up=1, rate(chat_messages_stored_total[15s])=$(value "$rate_a")/s, stored=$(value "$count_a"), logins=$logins, promtool clean, $((SECONDS - started)) s"

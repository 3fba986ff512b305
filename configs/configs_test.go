// Package configs holds the operator files of the chat service: the example
// environment, the Prometheus scrape configuration and alerting rules, and
// the Grafana dashboard. Its tests keep them in step with the service.
package configs

import (
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chatsvc/chat/internal/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// metricName matches a chat_ metric name in PromQL.
var metricName = regexp.MustCompile(`\bchat_[a-z_]+\b`)

// serviceMetrics returns the name of every collector that metrics.New
// declares, with the series names of histograms (_bucket, _sum, _count).
func serviceMetrics(tb testing.TB) map[string]bool {
	tb.Helper()
	m := metrics.New()
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.CanInterface() {
			continue
		}
		c, ok := f.Interface().(prometheus.Collector)
		if !ok || f.IsNil() {
			continue
		}
		ch := make(chan *prometheus.Desc, 16)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			match := fqName.FindStringSubmatch(d.String())
			if match == nil {
				tb.Fatalf("no name in descriptor %s", d)
			}
			names[match[1]] = true
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[match[1]+s] = true
			}
		}
	}
	if len(names) == 0 {
		tb.Fatal("metrics.New declares no collector")
	}
	return names
}

func readFile(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

// dashboardVar is a template variable of the dashboard.
type dashboardVar struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// dashboardExprs returns the PromQL of every panel target of the dashboard.
func dashboardExprs(tb testing.TB) []string {
	tb.Helper()
	var dash struct {
		SchemaVersion int    `json:"schemaVersion"`
		Title         string `json:"title"`
		UID           string `json:"uid"`
		Panels        []struct {
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []dashboardVar `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal([]byte(readFile(tb, "grafana-dashboard.json")), &dash); err != nil {
		tb.Fatalf("grafana-dashboard.json: %v", err)
	}
	if dash.SchemaVersion < 36 || dash.Title == "" || dash.UID == "" {
		tb.Errorf("dashboard schemaVersion %d, title %q, uid %q", dash.SchemaVersion, dash.Title, dash.UID)
	}
	if !slices.Contains(dash.Templating.List, dashboardVar{Name: "datasource", Type: "datasource"}) {
		tb.Error("dashboard has no datasource variable")
	}
	var exprs []string
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			tb.Errorf("panel %q does not use the datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			tb.Errorf("panel %q has no query", p.Title)
		}
		for _, t := range p.Targets {
			exprs = append(exprs, t.Expr)
		}
	}
	return exprs
}

func TestDashboardShowsTheContractMetrics(t *testing.T) {
	all := strings.Join(dashboardExprs(t), "\n")
	for _, want := range []string{
		"chat_ws_connections",
		"chat_messages_stored_total",
		"chat_messages_delivered_total",
		"histogram_quantile(0.5, sum by (le) (rate(chat_message_delivery_seconds_bucket",
		"histogram_quantile(0.99, sum by (le) (rate(chat_message_delivery_seconds_bucket",
		"chat_ws_wire_bytes_sent_total",
		"chat_ws_payload_bytes_sent_total",
		"sum by (code) (rate(chat_ws_disconnects_total",
		"sum by (result) (rate(chat_auth_logins_total",
		"sum by (scope) (rate(chat_rate_limited_total",
		"sum by (route) (rate(chat_http_requests_total",
		"sum by (le, route) (rate(chat_http_request_duration_seconds_bucket",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no dashboard query contains %q", want)
		}
	}
}

// TestReferencedMetricsExist fails when a dashboard query or an alert names
// a metric the service does not export, e.g. after a rename.
func TestReferencedMetricsExist(t *testing.T) {
	exported := serviceMetrics(t)
	sources := map[string]string{
		"grafana-dashboard.json": strings.Join(dashboardExprs(t), "\n"),
		"alerts.yml":             readFile(t, "alerts.yml"),
		"alerts_test.yml":        readFile(t, "alerts_test.yml"),
	}
	for file, text := range sources {
		used := metricName.FindAllString(text, -1)
		if len(used) == 0 {
			t.Errorf("%s names no chat_ metric", file)
		}
		for _, name := range used {
			if !exported[name] {
				t.Errorf("%s uses %s, which the service does not export", file, name)
			}
		}
	}
}

// TestPromtool runs promtool on the Prometheus files when it is installed
// (Debian package prometheus).
func TestPromtool(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed: skipping Prometheus file checks")
	}
	for _, args := range [][]string{
		{"check", "config", "prometheus.yml"},
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, err := exec.Command(path, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

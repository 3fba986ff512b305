package metrics_test

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chatsvc/chat/internal/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// labelledVec is what every *prometheus.XxxVec offers.
type labelledVec interface {
	prometheus.Collector
	Reset()
}

// touch creates one child of every vector of m that has none yet, so that
// each collector shows up in a scrape. It returns the names of the fields
// it touched.
func touch(tb testing.TB, m *metrics.Metrics) []string {
	tb.Helper()
	present := families(tb, m)
	var touched []string
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.CanInterface() || f.IsNil() {
			continue
		}
		vec, ok := f.Interface().(labelledVec)
		if !ok {
			continue
		}
		if present[descName(tb, vec)] != nil {
			continue
		}
		get := f.MethodByName("GetMetricWithLabelValues")
		if !get.IsValid() {
			tb.Fatalf("field %s: no GetMetricWithLabelValues", v.Type().Field(i).Name)
		}
		// The number of labels is found by trying: a wrong count is an error.
		done := false
		for n := 1; n <= 8 && !done; n++ {
			args := make([]reflect.Value, n)
			for j := range args {
				args[j] = reflect.ValueOf("x")
			}
			out := get.Call(args)
			done = out[1].IsNil()
		}
		if !done {
			tb.Fatalf("field %s: could not create a child", v.Type().Field(i).Name)
		}
		touched = append(touched, v.Type().Field(i).Name)
	}
	return touched
}

// descName returns the fully-qualified name of c's single descriptor.
func descName(tb testing.TB, c prometheus.Collector) string {
	tb.Helper()
	ch := make(chan *prometheus.Desc, 4)
	c.Describe(ch)
	close(ch)
	var names []string
	for d := range ch {
		s := d.String()
		const key = `fqName: "`
		i := strings.Index(s, key)
		if i < 0 {
			tb.Fatalf("no name in %s", s)
		}
		s = s[i+len(key):]
		names = append(names, s[:strings.IndexByte(s, '"')])
	}
	if len(names) != 1 {
		tb.Fatalf("collector has %d descriptors, want 1: %v", len(names), names)
	}
	return names[0]
}

// families gathers m's registry by family name.
func families(tb testing.TB, m *metrics.Metrics) map[string]*dto.MetricFamily {
	tb.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	out := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// collectorFields returns the name of every exported collector field of m
// with the metric name it exports.
func collectorFields(tb testing.TB, m *metrics.Metrics) map[string]string {
	tb.Helper()
	out := map[string]string{}
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.CanInterface() || f.IsNil() {
			continue
		}
		c, ok := f.Interface().(prometheus.Collector)
		if !ok {
			continue
		}
		out[v.Type().Field(i).Name] = descName(tb, c)
	}
	return out
}

func TestRegistryLintsClean(t *testing.T) {
	m := metrics.New()
	touched := touch(t, m)
	if len(touched) == 0 {
		t.Fatal("every vector already had a child: the test would not exercise the touch")
	}
	got := families(t, m)
	for field, name := range collectorFields(t, m) {
		if got[name] == nil {
			t.Errorf("field %s (%s) is missing from the scrape", field, name)
		}
	}
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatalf("lint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// contract is the Metrics table of the public contract.
var contract = []struct {
	name   string
	typ    dto.MetricType
	labels []string
}{
	{"chat_ws_connections", dto.MetricType_GAUGE, nil},
	{"chat_ws_connections_accepted_total", dto.MetricType_COUNTER, nil},
	{"chat_ws_upgrade_failures_total", dto.MetricType_COUNTER, []string{"reason"}},
	{"chat_ws_disconnects_total", dto.MetricType_COUNTER, []string{"code"}},
	{"chat_ws_heartbeat_timeouts_total", dto.MetricType_COUNTER, nil},
	{"chat_ws_frames_received_total", dto.MetricType_COUNTER, nil},
	{"chat_ws_frames_sent_total", dto.MetricType_COUNTER, nil},
	{"chat_ws_wire_bytes_received_total", dto.MetricType_COUNTER, nil},
	{"chat_ws_wire_bytes_sent_total", dto.MetricType_COUNTER, nil},
	{"chat_ws_payload_bytes_sent_total", dto.MetricType_COUNTER, nil},
	{"chat_ws_slow_consumer_disconnects_total", dto.MetricType_COUNTER, nil},
	{"chat_messages_stored_total", dto.MetricType_COUNTER, nil},
	{"chat_messages_delivered_total", dto.MetricType_COUNTER, nil},
	{"chat_message_delivery_seconds", dto.MetricType_HISTOGRAM, nil},
	{"chat_rate_limited_total", dto.MetricType_COUNTER, []string{"scope"}},
	{"chat_auth_logins_total", dto.MetricType_COUNTER, []string{"result"}},
	{"chat_auth_refreshes_total", dto.MetricType_COUNTER, []string{"result"}},
	{"chat_broker_published_total", dto.MetricType_COUNTER, nil},
	{"chat_broker_errors_total", dto.MetricType_COUNTER, nil},
	{"chat_http_requests_total", dto.MetricType_COUNTER, []string{"code", "method", "route"}},
	{"chat_http_request_duration_seconds", dto.MetricType_HISTOGRAM, []string{"method", "route"}},
}

func TestContractMetrics(t *testing.T) {
	m := metrics.New()
	touch(t, m)
	got := families(t, m)
	for _, want := range contract {
		t.Run(want.name, func(t *testing.T) {
			mf := got[want.name]
			if mf == nil {
				t.Fatalf("%s is not exported", want.name)
			}
			if mf.GetType() != want.typ {
				t.Errorf("type %v, want %v", mf.GetType(), want.typ)
			}
			if mf.GetHelp() == "" {
				t.Error("no help text")
			}
			for _, metric := range mf.GetMetric() {
				var names []string
				for _, lp := range metric.GetLabel() {
					names = append(names, lp.GetName())
				}
				slices.Sort(names)
				if !slices.Equal(names, want.labels) {
					t.Errorf("labels %v, want %v", names, want.labels)
				}
			}
		})
	}
	// The Go runtime, process and build-info collectors.
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_open_fds", "go_build_info"} {
		if got[name] == nil {
			t.Errorf("%s is not exported", name)
		}
	}
}

// labelValues returns the values label takes in family name.
func labelValues(mf *dto.MetricFamily, label string) []string {
	var out []string
	for _, metric := range mf.GetMetric() {
		for _, lp := range metric.GetLabel() {
			if lp.GetName() == label {
				out = append(out, lp.GetValue())
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestFixedLabelValuesExistFromTheStart checks that the series of the fixed
// label sets are exported at zero before anything happens, so rate() and
// alerts see them from the first scrape.
func TestFixedLabelValuesExistFromTheStart(t *testing.T) {
	m := metrics.New()
	got := families(t, m)
	for _, tc := range []struct {
		family, label string
		want          []string
	}{
		{"chat_ws_disconnects_total", "code", []string{"1000", "1001", "1003", "1006", "1007", "1008", "1009", "1011", "1013", "4001", "4003", "4008"}},
		{"chat_rate_limited_total", "scope", []string{"login", "register", "ws"}},
		{"chat_auth_logins_total", "result", []string{"failure", "success"}},
		{"chat_auth_refreshes_total", "result", []string{"success"}},
		{"chat_ws_upgrade_failures_total", "reason", []string{"unauthorized"}},
	} {
		t.Run(tc.family, func(t *testing.T) {
			mf := got[tc.family]
			if mf == nil {
				t.Fatalf("%s is not exported before any traffic", tc.family)
			}
			have := labelValues(mf, tc.label)
			for _, w := range tc.want {
				if !slices.Contains(have, w) {
					t.Errorf("%s=%q missing; have %v", tc.label, w, have)
				}
			}
			for _, metric := range mf.GetMetric() {
				if v := metric.GetCounter().GetValue(); v != 0 {
					t.Errorf("%v starts at %v", metric.GetLabel(), v)
				}
			}
		})
	}
}

func TestDisconnectCountsByCode(t *testing.T) {
	for _, tc := range []struct {
		code  int
		label string
	}{
		{1000, "1000"},
		{1006, "1006"},
		{4008, "4008"},
		{1005, "other"},
		{4999, "other"},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			m := metrics.New()
			c := m.WSDisconnects.WithLabelValues(tc.label)
			m.Disconnect(tc.code)
			m.Disconnect(tc.code)
			if got := testutil.ToFloat64(c); got != 2 {
				t.Errorf("code=%q: %v, want 2", tc.label, got)
			}
			var total float64
			for _, metric := range families(t, m)["chat_ws_disconnects_total"].GetMetric() {
				total += metric.GetCounter().GetValue()
			}
			if total != 2 {
				t.Errorf("all codes together: %v, want 2", total)
			}
		})
	}
}

// scrapeOpenMetrics returns the /metrics answer in the OpenMetrics format.
func scrapeOpenMetrics(tb testing.TB, m *metrics.Metrics) string {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0;charset=utf-8")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		tb.Fatalf("Content-Type %q, want OpenMetrics", ct)
	}
	return rec.Body.String()
}

// sampleSuffixes are the sample-name suffixes an OpenMetrics family of each
// type may carry.
var sampleSuffixes = map[string][]string{
	"counter":   {"_total", "_created"},
	"gauge":     {""},
	"histogram": {"_bucket", "_count", "_sum", "_created"},
	"summary":   {"", "_count", "_sum", "_created"},
	"info":      {"_info"},
	"unknown":   {""},
	"stateset":  {""},
}

// checkOpenMetrics reports the family-name clashes and misplaced samples of
// an OpenMetrics exposition.
func checkOpenMetrics(text string) []string {
	var problems []string
	seen := map[string]bool{}          // family names
	sampleOwner := map[string]string{} // sample name -> family
	family, typ := "", ""
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	last := ""
	for sc.Scan() {
		line := sc.Text()
		last = line
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)
			if len(f) != 4 {
				problems = append(problems, "malformed: "+line)
				continue
			}
			family, typ = f[2], f[3]
			if seen[family] {
				problems = append(problems, "family "+family+" declared twice")
			}
			seen[family] = true
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		ok := false
		for _, s := range sampleSuffixes[typ] {
			if name == family+s {
				ok = true
			}
		}
		if !ok {
			problems = append(problems, "sample "+name+" does not belong to family "+family+" ("+typ+")")
		}
		if owner, dup := sampleOwner[name]; dup && owner != family {
			problems = append(problems, "sample "+name+" claimed by "+owner+" and "+family)
		}
		sampleOwner[name] = family
	}
	if last != "# EOF" {
		problems = append(problems, "exposition does not end with # EOF")
	}
	// A family whose name is another's sample name clashes too.
	for f := range seen {
		if owner, ok := sampleOwner[f]; ok && owner != f {
			problems = append(problems, "family "+f+" clashes with a sample of "+owner)
		}
	}
	return problems
}

func TestOpenMetricsHasNoClashes(t *testing.T) {
	m := metrics.New()
	touch(t, m)
	m.MessagesStored.Add(3)
	m.DeliverySeconds.Observe(0.002)
	text := scrapeOpenMetrics(t, m)
	for _, p := range checkOpenMetrics(text) {
		// The contract covers the chat_ families; the Go collector's own
		// go_memstats_alloc_bytes gauge and _total counter share a family
		// name in OpenMetrics, which is client_golang's to fix.
		if strings.Contains(p, "chat_") {
			t.Error(p)
		} else {
			t.Log("outside the chat_ families:", p)
		}
	}
	// The checker itself must see a clash: a gauge foo next to a counter
	// foo_total share the family name foo in OpenMetrics.
	bad := "# TYPE chat_foo gauge\nchat_foo 1\n# TYPE chat_foo counter\nchat_foo_total 1\n# EOF"
	if len(checkOpenMetrics(bad)) == 0 {
		t.Error("the clash checker accepts a clashing exposition")
	}
	if !strings.Contains(text, "# TYPE chat_messages_stored counter") || !strings.Contains(text, "chat_messages_stored_total 3") {
		t.Error("the OpenMetrics exposition lacks chat_messages_stored")
	}
}

// TestPromtoolCheckMetrics runs promtool on the text exposition when it is
// installed (Debian package prometheus).
func TestPromtoolCheckMetrics(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed: skipping promtool check metrics")
	}
	m := metrics.New()
	touch(t, m)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(rec.Body.Bytes())
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// hotPath is what the service does per delivered message (frame counters,
// payload bytes, the delivery count and latency) plus one disconnect.
func hotPath(m *metrics.Metrics, code int) {
	m.WSFramesSent.Inc()
	m.WSPayloadBytesSent.Add(180)
	m.MessagesDelivered.Inc()
	m.DeliverySeconds.Observe(0.0012)
	m.Disconnect(code)
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	m := metrics.New()
	for _, code := range []int{1000, 4008, 1005} {
		if n := testing.AllocsPerRun(1000, func() { hotPath(m, code) }); n != 0 {
			t.Errorf("code %d: %v allocations per delivery, want 0", code, n)
		}
	}
	if got := testutil.ToFloat64(m.MessagesDelivered); got < 3000 {
		t.Errorf("delivered %v: the hot path did not run", got)
	}
}

// BenchmarkHotPath measures the metric cost of one delivery (counter Inc,
// histogram Observe) and one disconnect, alone and from every CPU at once.
func BenchmarkHotPath(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		m := metrics.New()
		b.ReportAllocs()
		for b.Loop() {
			hotPath(m, 1000)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		m := metrics.New()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				hotPath(m, 1000)
			}
		})
	})
}

package main

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The tests of deploy/compose.yaml and deploy/prometheus.yml live here, in
// the deploy tooling's module, so the service's module needs no YAML
// library.

// deployDir is deploy/, relative to this package.
const deployDir = ".."

type composeFile struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image       string            `yaml:"image"`
	Build       *buildSpec        `yaml:"build"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Volumes []string `yaml:"volumes"`
}

type buildSpec struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// loadCompose parses deploy/compose.yaml, anchors and merge keys resolved.
func loadCompose(tb testing.TB) composeFile {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		tb.Fatalf("compose.yaml: %v", err)
	}
	return c
}

var chatNodes = []string{"chat1", "chat2"}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	var names []string
	for n := range c.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"chat1", "chat2", "grafana", "postgres", "prometheus", "redis"}; !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	for name, s := range c.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("%s: neither image nor build", name)
		}
		if s.Image != "" && !slices.Contains(chatNodes, name) && !regexp.MustCompile(`:[0-9v]`).MatchString(s.Image) {
			t.Errorf("%s: image %q has no version tag", name, s.Image)
		}
		for dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join(deployDir, src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s mounts undeclared volume %s", name, src)
			}
		}
	}
	for _, dep := range []string{"postgres", "redis"} {
		if c.Services[dep].Healthcheck == nil {
			t.Errorf("%s has no healthcheck", dep)
		}
	}
}

func TestComposeChatNodes(t *testing.T) {
	c := loadCompose(t)
	known := exampleVariables(t)
	hostPorts := map[string]bool{}
	for _, n := range chatNodes {
		s := c.Services[n]
		if s.Build == nil || s.Build.Context != ".." || s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("%s: build %+v, want the repository's Dockerfile", n, s.Build)
		} else if _, err := os.Stat(filepath.Join(deployDir, s.Build.Context, s.Build.Dockerfile)); err != nil {
			t.Errorf("%s: %v", n, err)
		}
		for k := range s.Environment {
			if !known[k] {
				t.Errorf("%s: %s is not a variable of configs/chat.env.example", n, k)
			}
		}
		for _, dep := range []string{"postgres", "redis"} {
			if s.DependsOn[dep].Condition != "service_healthy" {
				t.Errorf("%s: depends_on %s %+v, want condition service_healthy", n, dep, s.DependsOn[dep])
			}
		}
		if s.Healthcheck == nil || !slices.ContainsFunc(s.Healthcheck.Test, func(a string) bool { return strings.HasSuffix(a, "/readyz") }) {
			t.Errorf("%s: healthcheck %+v, want one on /readyz", n, s.Healthcheck)
		} else if s.Healthcheck.Test[0] != "CMD" || s.Healthcheck.Test[1] != "/chat-api" {
			t.Errorf("%s: healthcheck %v must run the binary itself (the image has no shell)", n, s.Healthcheck.Test)
		}
		if len(s.Ports) != 1 || !strings.HasSuffix(s.Ports[0], ":8080") {
			t.Errorf("%s: ports %v, want one publishing 8080", n, s.Ports)
		} else {
			hostPorts[s.Ports[0]] = true
		}
	}
	if len(hostPorts) != len(chatNodes) {
		t.Errorf("the nodes publish the same host port: %v", hostPorts)
	}

	a, b := c.Services["chat1"].Environment, c.Services["chat2"].Environment
	for _, k := range []string{"CHAT_JWT_SECRET", "CHAT_DB_URL", "CHAT_REDIS_URL", "CHAT_METRICS_ADDR"} {
		if a[k] == "" || a[k] != b[k] {
			t.Errorf("%s: %q and %q, want one non-empty value on both nodes", k, a[k], b[k])
		}
	}
	for k, host := range map[string]string{"CHAT_DB_URL": "postgres", "CHAT_REDIS_URL": "redis"} {
		u, err := url.Parse(a[k])
		if err != nil || u.Hostname() != host {
			t.Errorf("%s=%q, want a URL of the %s service", k, a[k], host)
		}
	}
	if !strings.HasPrefix(a["CHAT_DB_URL"], "postgres://") {
		t.Errorf("CHAT_DB_URL=%q, want PostgreSQL (nodes cannot share SQLite)", a["CHAT_DB_URL"])
	}
}

// exampleVariables returns the variables configs/chat.env.example assigns.
func exampleVariables(tb testing.TB) map[string]bool {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "..", "configs", "chat.env.example"))
	if err != nil {
		tb.Fatal(err)
	}
	vars := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), "="); ok && strings.HasPrefix(name, "CHAT_") {
			vars[name] = true
		}
	}
	return vars
}

// TestPrometheusScrapesBothNodes checks deploy/prometheus.yml targets each
// chat node on its CHAT_METRICS_ADDR port.
func TestPrometheusScrapesBothNodes(t *testing.T) {
	c := loadCompose(t)
	b, err := os.ReadFile(filepath.Join(deployDir, "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, sc := range p.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	slices.Sort(targets)
	var want []string
	for _, n := range chatNodes {
		_, port, _ := strings.Cut(c.Services[n].Environment["CHAT_METRICS_ADDR"], ":")
		want = append(want, n+":"+port)
	}
	if !slices.Equal(targets, want) {
		t.Fatalf("targets %v, want %v", targets, want)
	}
}

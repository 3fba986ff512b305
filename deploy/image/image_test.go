package main

import (
	"archive/tar"
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// writeImage writes img to a tarball in a temporary directory.
func writeImage(tb testing.TB, img v1.Image) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "image.tar")
	if err := tarball.WriteToFile(p, name.MustParseReference("chat:test"), img); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestImage(t *testing.T) {
	good, err := newImage([]byte("\x7fELF fake binary"), []byte("-----BEGIN CERTIFICATE-----\n"))
	if err != nil {
		t.Fatal(err)
	}
	withConfig := func(f func(*v1.Config)) v1.Image {
		cf, err := good.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		f(&cf.Config)
		img, err := mutate.ConfigFile(good, cf)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	shell := func() v1.Image {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		_ = tw.WriteHeader(&tar.Header{Name: "bin/sh", Mode: 0o755, Size: 2, Typeflag: tar.TypeReg})
		_, _ = tw.Write([]byte("sh"))
		_ = tw.Close()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(good, l)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}

	tests := []struct {
		name    string
		img     v1.Image
		wantErr string // "" when the check passes
	}{
		{"as built", good, ""},
		{"root user", withConfig(func(c *v1.Config) { c.User = "" }), "non-root"},
		{"uid 0", withConfig(func(c *v1.Config) { c.User = "0:0" }), "non-root"},
		{"no port", withConfig(func(c *v1.Config) { c.ExposedPorts = nil }), "8080/tcp"},
		{"shell entrypoint", withConfig(func(c *v1.Config) { c.Entrypoint = []string{"/bin/sh", "-c", "/chat-api"} }), "entrypoint"},
		{"a shell inside", shell(), "/bin/sh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := check(writeImage(t, tt.img))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.WorkingDir != "/data" || cfg.User != user {
					t.Fatalf("config %+v", cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("check: %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

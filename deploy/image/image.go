// Command image builds the chat service's container image without a
// container engine, and checks one: the static binary (built beforehand with
// CGO_ENABLED=0) on an empty base, run as a non-root user, port 8080, no
// shell. It writes the image as a tarball that `docker load` and `podman
// load` read.
//
//	CGO_ENABLED=0 go build -trimpath -o /tmp/chat-api ./cmd/api
//	go run ./deploy/image build -binary /tmp/chat-api -out /tmp/chat.tar
//	go run ./deploy/image check /tmp/chat.tar
//
// It is a module of its own so the service's module does not depend on the
// image library.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// What every image of the service promises.
const (
	entrypoint = "/chat-api"
	user       = "65532:65532" // nonroot, as in distroless
	uid        = 65532
	port       = "8080/tcp"
	dataDir    = "data"
	caPath     = "etc/ssl/certs/ca-certificates.crt"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: image build -binary PATH -out PATH [-ca PATH] [-tag TAG] | image check PATH")
	}
	switch args[0] {
	case "build":
		fs := flag.NewFlagSet("build", flag.ContinueOnError)
		bin := fs.String("binary", "", "the static chat-api binary")
		out := fs.String("out", "chat.tar", "the image tarball to write")
		ca := fs.String("ca", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to include (for https to an identity provider); empty for none")
		tag := fs.String("tag", "chat:local", "the image's tag in the tarball")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return build(*bin, *ca, *out, *tag)
	case "check":
		if len(args) != 2 {
			return errors.New("usage: image check PATH")
		}
		cfg, err := check(args[1])
		if err != nil {
			return err
		}
		fmt.Printf("%s: entrypoint %v, user %s, ports %v, no shell\n", args[1], cfg.Entrypoint, cfg.User, slices.Collect(mapKeys(cfg.ExposedPorts)))
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func mapKeys(m map[string]struct{}) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// build writes the image of the binary at bin to out.
func build(bin, ca, out, tag string) error {
	exe, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	var caPEM []byte
	if ca != "" {
		if caPEM, err = os.ReadFile(ca); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	img, err := newImage(exe, caPEM)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("build: tag: %w", err)
	}
	if err := tarball.WriteToFile(out, ref, img); err != nil {
		return fmt.Errorf("build: write %s: %w", out, err)
	}
	return nil
}

// newImage is one layer holding the binary, the data directory owned by the
// non-root user and the CA bundle, with the service's configuration.
func newImage(exe, caPEM []byte) (v1.Image, error) {
	layerTar, err := layerBytes(exe, caPEM)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = v1.Config{
		Entrypoint:   []string{entrypoint},
		User:         user,
		WorkingDir:   "/" + dataDir,
		ExposedPorts: map[string]struct{}{port: {}},
		Env:          []string{"CHAT_ADDR=:8080", "CHAT_DB_URL=sqlite:/data/chat.db"},
	}
	return mutate.ConfigFile(img, cf)
}

// layerBytes is the tar of the image's only layer.
func layerBytes(exe, caPEM []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	when := time.Unix(0, 0)
	type entry struct {
		hdr  tar.Header
		body []byte
	}
	entries := []entry{
		{tar.Header{Name: entrypoint[1:], Mode: 0o755, Typeflag: tar.TypeReg}, exe},
		{tar.Header{Name: dataDir + "/", Mode: 0o700, Typeflag: tar.TypeDir, Uid: uid, Gid: uid}, nil},
	}
	if caPEM != nil {
		entries = append(entries,
			entry{tar.Header{Name: path.Dir(caPath) + "/", Mode: 0o755, Typeflag: tar.TypeDir}, nil},
			entry{tar.Header{Name: caPath, Mode: 0o644, Typeflag: tar.TypeReg}, caPEM})
	}
	for _, e := range entries {
		h := e.hdr
		h.Size, h.ModTime = int64(len(e.body)), when
		if err := tw.WriteHeader(&h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

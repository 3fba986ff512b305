package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// shells are paths whose presence in an image means it has a shell.
var shells = []string{"bin/sh", "bin/bash", "bin/ash", "bin/busybox", "usr/bin/sh", "usr/bin/bash"}

// check reads the image tarball at p and returns its configuration, or an
// error naming each promise it breaks: entrypoint /chat-api, a non-root
// user, port 8080 exposed, the entrypoint present and no shell.
func check(p string) (v1.Config, error) {
	img, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		return v1.Config{}, fmt.Errorf("check: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.Config{}, fmt.Errorf("check: %w", err)
	}
	cfg := cf.Config
	var errs []error
	if len(cfg.Entrypoint) != 1 || cfg.Entrypoint[0] != entrypoint {
		errs = append(errs, fmt.Errorf("entrypoint %v, want [%s]", cfg.Entrypoint, entrypoint))
	}
	if u, _, _ := strings.Cut(cfg.User, ":"); u == "" || u == "0" || u == "root" {
		errs = append(errs, fmt.Errorf("user %q, want a non-root user", cfg.User))
	}
	if _, ok := cfg.ExposedPorts[port]; !ok {
		errs = append(errs, fmt.Errorf("exposed ports %v, want %s", cfg.ExposedPorts, port))
	}
	files, err := fileSet(img)
	if err != nil {
		return cfg, fmt.Errorf("check: %w", err)
	}
	if !files[entrypoint[1:]] {
		errs = append(errs, fmt.Errorf("no %s in the image", entrypoint))
	}
	for _, s := range shells {
		if files[s] {
			errs = append(errs, fmt.Errorf("the image has a shell: /%s", s))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, fmt.Errorf("check %s: %w", p, err)
	}
	return cfg, nil
}

// fileSet lists the paths of the image's flattened filesystem.
func fileSet(img v1.Image) (map[string]bool, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := make(map[string]bool)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		files[strings.TrimPrefix(path.Clean("/"+h.Name), "/")] = true
	}
}

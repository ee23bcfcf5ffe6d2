package consultest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// binary is the process-wide result of finding or building the agent.
var binary struct {
	once sync.Once
	path string
	err  error
}

// BinaryPath returns the path of the Consul agent binary: LONGLINK_CONSUL_BIN
// if set, else the cached build of scripts/consul-agent (built now if there
// is none, which takes minutes the first time). The result is computed once
// per process.
func BinaryPath() (string, error) {
	binary.once.Do(func() { binary.path, binary.err = findBinary() })
	return binary.path, binary.err
}

func findBinary() (string, error) {
	if p := os.Getenv("LONGLINK_CONSUL_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("LONGLINK_CONSUL_BIN: %w", err)
		}
		return p, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(root, "scripts", "consul-agent"), "path")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("scripts/consul-agent path: %w\n%s", err, tail(stderr.String(), 40))
	}
	p := strings.TrimSpace(stdout.String())
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("scripts/consul-agent path printed %q: %w", p, err)
	}
	return p, nil
}

// moduleRoot finds the longlink repository root above the working directory:
// the first directory holding both go.mod and scripts/consul-agent.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "scripts", "consul-agent")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no directory above the working directory holds go.mod and scripts/consul-agent")
		}
		dir = parent
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

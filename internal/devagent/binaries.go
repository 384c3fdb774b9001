package devagent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Environment variables naming the binaries; by default they are looked up
// where `make build` and `make nomad` put them.
const (
	EnvNomadBin  = "DTLE_NOMAD_BIN"
	EnvPluginDir = "DTLE_PLUGIN_DIR"
)

// Binaries finds the nomad binary and the plugin directory: from
// EnvNomadBin and EnvPluginDir, else under the repository's .cache/bin and
// .build/plugins.
func Binaries() (nomadBin, pluginDir string, err error) {
	nomadBin, pluginDir = os.Getenv(EnvNomadBin), os.Getenv(EnvPluginDir)
	if nomadBin == "" || pluginDir == "" {
		root, rerr := repoRoot()
		if rerr != nil {
			return "", "", rerr
		}
		if nomadBin == "" {
			nomadBin = filepath.Join(root, ".cache", "bin", "nomad")
		}
		if pluginDir == "" {
			pluginDir = filepath.Join(root, ".build", "plugins")
		}
	}
	if _, err := os.Stat(nomadBin); err != nil {
		return "", "", fmt.Errorf("nomad agent binary: %w (run `make nomad`, or set %s)", err, EnvNomadBin)
	}
	if _, err := os.Stat(filepath.Join(pluginDir, "dtle")); err != nil {
		return "", "", fmt.Errorf("dtle plugin: %w (run `make build`, or set %s)", err, EnvPluginDir)
	}
	return nomadBin, pluginDir, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "driver")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("devagent: repository root not found above the working directory")
		}
		dir = parent
	}
}

package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func TestDefaults(t *testing.T) {
	c, err := LoadWith(t.TempDir(), envconfig.MapLookuper(nil))
	require.NoError(t, err)
	assert.False(t, bool(c.Enabled))
	assert.Empty(t, c.URI, "no connection string: the embedded store")
	assert.False(t, c.URISet)
	assert.Equal(t, "vt_metrics", c.Database)
	assert.Equal(t, "dev", c.Environment)
	assert.Empty(t, c.ExperimentTags)
	assert.Equal(t, 3*time.Second, c.ConnectTimeout)
	assert.False(t, bool(c.Strict))
}

func TestExperimentTagsAreTrimmedAndEmptyOnesDropped(t *testing.T) {
	c, err := LoadWith(t.TempDir(), envconfig.MapLookuper(map[string]string{"EXPERIMENT_TAGS": " baseline, ,config-tweak,, "}))
	require.NoError(t, err)
	assert.Equal(t, TagList{"baseline", "config-tweak"}, c.ExperimentTags)
}

func TestDotEnvIsFoundUpToTheModuleRootAndTheEnvironmentWins(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "go.mod"), "module m\n")
	write(t, filepath.Join(root, ".env"), "MONGODB_ENABLED=true\nENVIRONMENT=stage\nMONGODB_DATABASE=from_file\n")
	pkg := filepath.Join(root, "a", "b")
	require.NoError(t, os.MkdirAll(pkg, 0o755))

	c, err := LoadWith(pkg, envconfig.MapLookuper(map[string]string{"ENVIRONMENT": "prod"}))
	require.NoError(t, err)
	assert.True(t, bool(c.Enabled), "from .env")
	assert.Equal(t, "prod", c.Environment, "the real environment wins over .env")
	assert.Equal(t, "from_file", c.Database)
	assert.Equal(t, root, c.ModuleRoot)
	assert.Equal(t, filepath.Join(root, ".env"), c.EnvFile)
	assert.Equal(t, filepath.Join(root, ".evalrec", "spool"), c.SpoolDir, "the spool lives at the module root")
}

func TestDotEnvAboveTheModuleRootIsIgnored(t *testing.T) {
	outer := t.TempDir()
	write(t, filepath.Join(outer, ".env"), "MONGODB_ENABLED=true\n")
	root := filepath.Join(outer, "mod")
	write(t, filepath.Join(root, "go.mod"), "module m\n")
	c, err := LoadWith(root, envconfig.MapLookuper(nil))
	require.NoError(t, err)
	assert.False(t, bool(c.Enabled))
	assert.Empty(t, c.EnvFile)
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	tests := map[string]map[string]string{
		"MONGODB_ENABLED":           {"MONGODB_ENABLED": "maybe"},
		"EVALREC_CONNECT_TIMEOUT":   {"EVALREC_CONNECT_TIMEOUT": "soon"},
		"EVALREC_WRITE_TIMEOUT":     {"EVALREC_WRITE_TIMEOUT": "-1s"},
		"MONGODB_DATABASE":          {"MONGODB_DATABASE": "bad name!"},
		"MONGODB_CONNECTION_STRING": {"MONGODB_ENABLED": "1", "MONGODB_CONNECTION_STRING": "http://u:hunter2@h"},
	}
	for name, env := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := LoadWith(t.TempDir(), envconfig.MapLookuper(env))
			require.Error(t, err)
			assert.Contains(t, err.Error(), name)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

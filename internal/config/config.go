// Package config reads evalrec's settings from the environment and from an
// optional .env file. Real environment variables win over the file.
package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/joho/godotenv"
	"github.com/sethvargo/go-envconfig"

	"evalrec.dev/internal/redact"
)

// Config holds every setting. The seed's five variables come first; the
// EVALREC_* ones are evalrec's own.
//
// An empty variable means its default, as an unset one does.
type Config struct {
	Enabled Flag `env:"MONGODB_ENABLED, default=false"`
	// URI names the store: mongodb:// or mongodb+srv:// for MongoDB,
	// sqlite:PATH for an SQLite file. Unset, evalrec uses the embedded
	// store, .evalrec/DATABASE.db at the module root.
	URI            string  `env:"MONGODB_CONNECTION_STRING"`
	Database       string  `env:"MONGODB_DATABASE, default=vt_metrics"`
	Environment    string  `env:"ENVIRONMENT, default=dev"`
	ExperimentTags TagList `env:"EXPERIMENT_TAGS"`

	// ConnectTimeout bounds reaching the server at start: server selection,
	// connection and the first ping together.
	ConnectTimeout time.Duration `env:"EVALREC_CONNECT_TIMEOUT, default=3s"`
	// WriteTimeout bounds each batch write. A write that times out sends the
	// rest of the run to the spool.
	WriteTimeout time.Duration `env:"EVALREC_WRITE_TIMEOUT, default=5s"`
	// FlushInterval is how often a writer to MongoDB beats its heartbeat
	// and writes its part's counts (a writer to the embedded store beats
	// none). Results themselves are written within 50 ms, or as soon as 100
	// are buffered.
	FlushInterval time.Duration `env:"EVALREC_FLUSH_INTERVAL, default=2s"`
	// SpoolDir receives results that could not be stored. Relative paths are
	// resolved against the module root.
	SpoolDir string `env:"EVALREC_SPOOL_DIR, default=.evalrec/spool"`
	// Strict makes a storage failure fail the suite.
	Strict Flag `env:"EVALREC_STRICT, default=false"`
	// RunID names the evaluation run explicitly, for example from CI. All
	// test binaries that see the same RunID join the same run.
	RunID string `env:"EVALREC_RUN_ID"`
	// Wrapped is set by `evalrec test` for the test processes it runs: they
	// emit attributes only and leave storage to the wrapper.
	Wrapped Flag `env:"EVALREC_WRAPPED, default=false"`
	// BackgroundStore lets a test binary in TestMain mode start the
	// process that stores the run's journals once go test ends. Off,
	// nothing outlives go test: the journals wait for the next evalrec
	// command or `evalrec replay`.
	BackgroundStore Flag `env:"EVALREC_BACKGROUND_STORE, default=true"`
	// Bin is the evalrec command that stores what test binaries journal
	// in TestMain mode. Unset: the module's tool, else evalrec on PATH
	// (see internal/settle).
	Bin string `env:"EVALREC_BIN"`

	// ModuleRoot is the directory holding go.mod, found by walking up from the
	// working directory; empty when there is none.
	ModuleRoot string
	// EnvFile is the .env file that was read, if any.
	EnvFile string
	// URISet reports whether MONGODB_CONNECTION_STRING was set (in the
	// environment or .env).
	URISet bool
}

// Flag is a boolean setting. It takes the usual spellings, in any case:
// true/false, 1/0, yes/no, y/n, on/off, enabled/disabled.
type Flag bool

// EnvDecode implements envconfig.Decoder.
func (f *Flag) EnvDecode(s string) error {
	v, err := ParseFlag(s)
	*f = Flag(v)
	return err
}

// ParseFlag reads a boolean setting; see [Flag].
func ParseFlag(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "y", "on", "enabled", "enable":
		return true, nil
	case "false", "0", "no", "n", "off", "disabled", "disable", "":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false (yes/no, on/off and 1/0 work too)", s)
}

// TagList is a comma-separated list: entries are trimmed and empty ones dropped.
type TagList []string

// EnvDecode implements envconfig.Decoder.
func (t *TagList) EnvDecode(s string) error {
	*t = ParseTags(s)
	return nil
}

// ParseTags splits a comma-separated list, trimming entries and dropping
// empty ones.
func ParseTags(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Load reads the configuration for a process whose working directory is dir
// (the current one when dir is empty).
func Load(dir string) (*Config, error) {
	return LoadWith(dir, envconfig.OsLookuper())
}

// LoadWith is Load with the environment given explicitly, for tests and for
// the CLI's flags.
func LoadWith(dir string, env envconfig.Lookuper) (*Config, error) {
	if dir == "" {
		var err error
		if dir, err = os.Getwd(); err != nil {
			return nil, err
		}
	}
	c := &Config{ModuleRoot: findUp(dir, "go.mod")}
	var lookup envconfig.Lookuper = emptyIsUnset{env}
	if f := findEnvFile(dir, c.ModuleRoot); f != "" {
		vals, err := godotenv.Read(f)
		if err != nil {
			return nil, fmt.Errorf("config: reading %s: %w", f, err)
		}
		c.EnvFile = f
		lookup = emptyIsUnset{envconfig.MultiLookuper(env, envconfig.MapLookuper(vals))}
	}
	_, c.URISet = lookup.Lookup("MONGODB_CONNECTION_STRING")
	if err := envconfig.ProcessWith(context.Background(), &envconfig.Config{Target: c, Lookuper: lookup}); err != nil {
		return nil, fmt.Errorf("config: %w", cleanEnvError(err))
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if c.SpoolDir != "" && !filepath.IsAbs(c.SpoolDir) {
		base := c.ModuleRoot
		if base == "" {
			base = dir
		}
		c.SpoolDir = filepath.Join(base, c.SpoolDir)
	}
	return c, nil
}

// emptyIsUnset makes an empty variable mean its default: ENVIRONMENT= or
// EVALREC_SPOOL_DIR= in a .env file is a blank left to fill, not a value.
type emptyIsUnset struct{ envconfig.Lookuper }

func (l emptyIsUnset) Lookup(key string) (string, bool) {
	v, ok := l.Lookuper.Lookup(key)
	if strings.TrimSpace(v) == "" {
		return "", false
	}
	return v, ok
}

// durationBounds are the values each duration setting accepts: shorter
// timeouts fail every write, and a shorter flush interval spins.
var durationBounds = []struct {
	name     string
	get      func(*Config) time.Duration
	min, max time.Duration
}{
	{"EVALREC_CONNECT_TIMEOUT", func(c *Config) time.Duration { return c.ConnectTimeout }, 10 * time.Millisecond, 10 * time.Minute},
	{"EVALREC_WRITE_TIMEOUT", func(c *Config) time.Duration { return c.WriteTimeout }, 10 * time.Millisecond, 10 * time.Minute},
	{"EVALREC_FLUSH_INTERVAL", func(c *Config) time.Duration { return c.FlushInterval }, 10 * time.Millisecond, time.Hour},
}

func (c *Config) validate() error {
	var errs []error
	for _, b := range durationBounds {
		if d := b.get(c); d < b.min || d > b.max {
			errs = append(errs, fmt.Errorf("%s=%s is out of range: use a duration from %s to %s, such as 3s", b.name, d, b.min, b.max))
		}
	}
	if !validDatabaseName(c.Database) {
		errs = append(errs, fmt.Errorf("MONGODB_DATABASE %q: use 1 to 63 letters, digits, '_' or '-'", c.Database))
	}
	if c.URISet && !slices.ContainsFunc([]string{"mongodb://", "mongodb+srv://", "sqlite:"}, func(p string) bool { return strings.HasPrefix(c.URI, p) }) {
		errs = append(errs, fmt.Errorf("MONGODB_CONNECTION_STRING must start with mongodb://, mongodb+srv:// or sqlite:, got %q", redact.URI(c.URI)))
	}
	return errors.Join(errs...)
}

// validDatabaseName accepts the names both MongoDB and FerretDB accept.
func validDatabaseName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// cleanEnvError rewrites envconfig's message, which names the Go field, to
// name the environment variable instead, and makes sure a rejected connection
// string is never echoed in clear.
func cleanEnvError(err error) error {
	msg := err.Error()
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name != "" && strings.HasPrefix(msg, f.Name+":") {
			msg = name + ":" + strings.TrimPrefix(msg, f.Name+":")
			break
		}
	}
	return errors.New(redact.URIsIn(msg))
}

// findUp returns the first directory from dir upwards that contains name.
func findUp(dir, name string) string {
	for d := filepath.Clean(dir); ; {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// findEnvFile looks for .env from dir up to the module root, inclusive. With
// no module root it looks in dir only.
func findEnvFile(dir, root string) string {
	for d := filepath.Clean(dir); ; {
		f := filepath.Join(d, ".env")
		if st, err := os.Stat(f); err == nil && !st.IsDir() {
			return f
		}
		parent := filepath.Dir(d)
		if root == "" || d == root || parent == d {
			return ""
		}
		d = parent
	}
}

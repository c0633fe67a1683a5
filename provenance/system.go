package provenance

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"evalrec.dev/internal/redact"
)

// System is a snapshot of what a run ran on and with. Everything but the
// volatile fields enters [System.Hash], so two runs with equal configurations
// hash equal and a changed dependency or setting changes the hash.
type System struct {
	GoVersion    string            `json:"go_version" bson:"go_version"`
	GOOS         string            `json:"goos" bson:"goos"`
	GOARCH       string            `json:"goarch" bson:"goarch"`
	CPUModel     string            `json:"cpu_model" bson:"cpu_model"`
	NumCPU       int               `json:"num_cpu" bson:"num_cpu"`
	Module       string            `json:"module" bson:"module"`
	Version      string            `json:"module_version" bson:"module_version"`
	Dependencies map[string]string `json:"dependencies" bson:"dependencies"`
	// SystemUnderTest is the configuration the suite declares: model names,
	// engine versions, feature flags. Values under secret-looking keys are
	// masked.
	SystemUnderTest map[string]any `json:"system_under_test" bson:"system_under_test"`

	// Volatile: stored, but left out of the hash.
	Hostname string `json:"-" bson:"hostname"`
}

// Snapshot describes the running binary and machine. sut is the suite's
// declared configuration; it is copied, with secrets masked.
func Snapshot(sut map[string]any) System {
	s := System{
		GoVersion:       runtime.Version(),
		GOOS:            runtime.GOOS,
		GOARCH:          runtime.GOARCH,
		CPUModel:        cpuModel(),
		NumCPU:          runtime.NumCPU(),
		Dependencies:    map[string]string{},
		SystemUnderTest: maskSecrets(sut),
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		s.Module, s.Version = bi.Main.Path, bi.Main.Version
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil {
				v += " => " + d.Replace.Path + " " + d.Replace.Version
			}
			s.Dependencies[d.Path] = v
		}
	}
	s.Hostname, _ = os.Hostname()
	return s
}

// MergeDependencies adds other's dependencies to s. The test binaries of one
// run each know only their own dependencies; the run's record is the union.
func (s *System) MergeDependencies(other map[string]string) {
	if s.Dependencies == nil {
		s.Dependencies = map[string]string{}
	}
	for k, v := range other {
		s.Dependencies[k] = v
	}
}

// Hash is the SHA-256, in hex, of the canonical JSON of the non-volatile
// fields. encoding/json writes map keys sorted, which makes it canonical.
func (s System) Hash() string {
	b, err := json.Marshal(s)
	if err != nil {
		// Only an unencodable SystemUnderTest value gets here; hash what can
		// be said about it rather than fail a run over provenance.
		b = []byte(err.Error())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func maskSecrets(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case redact.IsSecretKey(k):
			out[k] = redact.Mask
		default:
			out[k] = maskValue(v)
		}
	}
	return out
}

func maskValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return maskSecrets(v)
	case string:
		return redact.URIsIn(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = maskValue(e)
		}
		return out
	}
	return v
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

package faults

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"evalrec.dev/internal/storetest"
	"evalrec.dev/internal/testmod"
	evalui "evalrec.dev/internal/ui"
	"evalrec.dev/store"
)

// secret appears in every secret of these tests, so that one search finds
// any that leaked.
const secret = "Hunter2Secret"

func TestAConnectionStringWithoutASchemeNeverShowsItsPassword(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, recorders("p", 2, ""))
	bin := testmod.Bin(t)
	stream := []byte(`{"Time":"2026-11-01T00:00:00Z","Action":"pass","Package":"p","Test":"TestA"}` + "\n")
	for _, uri := range []string{"mongodb//admin:" + secret + "@host", "admin:" + secret + "@host", "mongodb://admin:" + secret + "@127.0.0.1:1/",
		// MONGODB-AWS takes an access key ID as the user name.
		"mongodb://AKIA" + strings.ToUpper(secret)[:12] + "ABCD:" + secret + "@127.0.0.1:1/?authMechanism=MONGODB-AWS"} {
		env := []string{"MONGODB_ENABLED=true", "MONGODB_CONNECTION_STRING=" + uri, "EVALREC_CONNECT_TIMEOUT=200ms"}
		for name, out := range map[string]testmod.Output{
			"testmain":  testmod.Run(t, dir, env, "go", "test", "-count=1", "-v", "./..."),
			"wrapper":   testmod.Run(t, dir, env, filepath.Join(bin, "evalrec"), "test", "-count=1", "./..."),
			"converter": runWithStdin(t, dir, env, stream, filepath.Join(bin, "gojson2mongo")),
			"runs":      testmod.Run(t, dir, env, filepath.Join(bin, "evalrec"), "runs"),
		} {
			assert.NotContains(t, out.Combined(), secret, "%s with %s", name, uri)
			assert.NotContains(t, strings.ToUpper(out.Combined()), "AKIA"+strings.ToUpper(secret)[:12], "%s with %s", name, uri)
			assert.Contains(t, out.Combined(), "xxxxx", "%s with %s says what it could not use:\n%s", name, uri, out.Combined())
		}
		spool, _ := os.ReadDir(filepath.Join(dir, ".evalrec", "spool"))
		for _, f := range spool {
			b, _ := os.ReadFile(filepath.Join(dir, ".evalrec", "spool", f.Name()))
			assert.NotContains(t, string(b), secret, f.Name())
			assert.NotContains(t, strings.ToUpper(string(b)), "AKIA"+strings.ToUpper(secret)[:12], f.Name())
		}
	}
}

func runWithStdin(t *testing.T, dir string, env []string, stdin []byte, name string, args ...string) testmod.Output {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stdin")
	require.NoError(t, os.WriteFile(path, stdin, 0o600))
	return testmod.Run(t, dir, env, "sh", "-c", fmt.Sprintf("%q %s < %q", name, strings.Join(args, " "), path))
}

// sutSuite declares a system under test with secrets in many shapes, and
// prints one to its output and puts one in an attribute.
const sutSuite = `package s

import (
	"os"
	"testing"

	"evalrec.dev/evalrec"
)

type backend struct {
	APIKey    string
	OpenAIKey string ` + "`json:\"openai_key\"`" + `
	Model     string
}

func TestMain(m *testing.M) {
	os.Exit(evalrec.Main(m, evalrec.SystemUnderTest(map[string]any{
		"model":   "gpt-4o-mini",
		"headers": map[string]string{"Authorization": "Bearer SECRET", "X-Api-Key": "SECRET"},
		"backend": backend{APIKey: "SECRET", OpenAIKey: "SECRET", Model: "m1"},
		"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
		"dsn":     "postgres://app:SECRET@db:5432/evals",
		"webhook": "https://user:SECRET@hooks.example.com/x",
		"args":    []string{"--api-key=SECRET", "--password", "SECRET", "--beam", "5"},
	})))
}

func TestPrintsASecretAndFails(t *testing.T) {
	evalrec.Record(t, evalrec.Metrics{"acc": 0.5})
	t.Attr("token", "SECRET")
	t.Log("connecting to mongodb://root:SECRET@10.0.0.1/prod")
	t.Error("failed")
}
`

func TestSecretsInTheSystemUnderTestOutputAndAttributesAreNeverStored(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, map[string]string{"s/s_test.go": strings.ReplaceAll(sutSuite, "SECRET", secret)})
	bin := testmod.Bin(t)
	stores := map[string]*storetest.Store{"testmain": storetest.New(t), "converter": storetest.New(t), "wrapper": storetest.New(t)}

	// What go test itself prints is the suite's business; what evalrec
	// prints (the wrapper's failures and summary, the converter's notes)
	// is masked.
	testmod.Run(t, dir, append(storeEnv(stores["testmain"]), "MONGODB_ENABLED=true"), "go", "test", "-count=1", "./...")
	storetest.AwaitIngest(t, spoolOf(dir))
	wrapped := testmod.Run(t, dir, storeEnv(stores["wrapper"]), filepath.Join(bin, "evalrec"), "test", "-count=1", "./...")
	assert.Contains(t, wrapped.Stdout, "connecting to mongodb://root:xxxxx@10.0.0.1/prod")
	assert.NotContains(t, wrapped.Combined(), secret)
	stream := testmod.Run(t, dir, nil, "go", "test", "-json", "-count=1", "./...")
	assert.NotContains(t, announcement(stream.Stdout), secret, "the system line a test binary prints")
	assert.NotContains(t, convert(t, stores["converter"], dir, []byte(stream.Stdout)).Combined(), secret)

	for mode, s := range stores {
		t.Run(mode, func(t *testing.T) {
			docs := allDocuments(t, s)
			assert.NotContains(t, docs, secret)
			assert.NotContains(t, docs, "AKIAIOSFODNN7EXAMPLE")
			assert.Contains(t, docs, "gpt-4o-mini", "what is not a secret survives")
			assert.Contains(t, docs, "connecting to mongodb://root:xxxxx@10.0.0.1/prod", "the output tail is kept, masked")
		})
	}
	// TestMain mode has no stream: its system line is the in-process
	// snapshot, the same masked one.
	r := runs(t, stores["testmain"].DB)[0]
	assert.Equal(t, r.SystemInfoHash, runs(t, stores["wrapper"].DB)[0].SystemInfoHash)
}

func announcement(stdout string) string {
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, "system under test") {
			return l
		}
	}
	return ""
}

// allDocuments is every document of the store, as text, and for the
// embedded store the bytes of its files too (the database and its
// write-ahead log), which hold what deleted or rewritten documents held.
func allDocuments(t *testing.T, s *storetest.Store) string {
	t.Helper()
	docs := storetest.Documents(t, s.DB)
	if path, err := store.SQLitePath(s.URI); err == nil {
		for _, f := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			docs += string(b)
		}
	}
	return docs
}

// shapesSuite holds secrets in the shapes found after the first table: a
// Slack webhook in the system under test and in output, a tag that is an
// assignment, and a private key printed a line at a time. It fails when
// FAIL is set, so that a second run has a newly failing test to post.
const shapesSuite = `package s

import (
	"os"
	"testing"

	"evalrec.dev/evalrec"
)

func TestMain(m *testing.M) {
	os.Exit(evalrec.Main(m, evalrec.SystemUnderTest(map[string]any{
		"model":  "gpt-4o-mini",
		"alerts": "https://hooks.slack.com/services/T0000/B0000/SECRET",
	})))
}

func TestLeaks(t *testing.T) {
	evalrec.Record(t, evalrec.Metrics{"acc": 0.5}, evalrec.Tags("token=SECRET", "Bearer SECRETtag"))
	t.Log("posting to https://hooks.slack.com/services/T0000/B0000/SECRET")
	t.Log("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6SECRET\nVTLw7onLRnrq0SECRET/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18g\n-----END RSA PRIVATE KEY-----")
	if os.Getenv("FAIL") != "" {
		t.Error("failed")
	}
}
`

// TestNewShapesOfSecretsStayOutOfEveryChannel runs a suite whose secrets
// come in those shapes through the wrapper, from a clone whose remote
// carries an access token and with experiment tags that hold a token, and
// reads every channel a user or a webhook sees: the wrapper's -v output,
// the store's files, the CLI, the exports, both reports, the JUnit file,
// the UI's pages, and the webhook's payload.
func TestNewShapesOfSecretsStayOutOfEveryChannel(t *testing.T) {
	t.Parallel()
	dir := testmod.Write(t, map[string]string{"s/s_test.go": strings.ReplaceAll(shapesSuite, "SECRET", secret)})
	git := func(args ...string) {
		t.Helper()
		out := testmod.Run(t, dir, nil, "git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		require.Zero(t, out.Code, out.Combined())
	}
	git("init", "-q", "-b", "main")
	git("remote", "add", "origin", "https://gitlab.example.com/g/r.git?private_token="+secret)
	git("add", "-A")
	git("commit", "-q", "-m", "suite")

	var mu sync.Mutex
	var posted []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posted = append(posted, string(b))
		mu.Unlock()
	}))
	defer hook.Close()

	s := storetest.New(t)
	bin := testmod.Bin(t)
	evalrec := filepath.Join(bin, "evalrec")
	env := append(storeEnv(s), "EXPERIMENT_TAGS=token="+secret+",Bearer "+secret+"tag")
	channels := map[string]string{}
	first := testmod.Run(t, dir, env, evalrec, "test", "-v", "-count=1", "./...")
	channels["wrapper -v"] = first.Combined()
	second := testmod.Run(t, dir, append(env, "FAIL=1"), evalrec, "test", "-v", "-count=1", "-junitfile", "junit.xml", "-notify", hook.URL, "./...")
	channels["wrapper -v, failing"] = second.Combined()
	require.Contains(t, second.Stdout, "posting to https://hooks.slack.com/services/xxxxx", "output that is no secret is kept")
	b, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	require.NoError(t, err)
	channels["JUnit"] = string(b)
	channels["store"] = allDocuments(t, s)
	for _, args := range [][]string{
		{"runs"}, {"show", "latest"}, {"show", "-output", "latest"}, {"tests"}, {"export", "-o", "exported"}, {"export", "-format", "prometheus"},
		{"report", "-format", "markdown"}, {"report"}, {"history", "example.com/gen/s.TestLeaks"}, {"configs"}, {"compare", "latest~1", "latest"},
	} {
		out := testmod.Run(t, dir, storeEnv(s), evalrec, args...)
		// A command that failed would check nothing but its error.
		require.Zero(t, out.Code, "%v: %s", args, out.Combined())
		channels[strings.Join(args, " ")] = out.Combined()
	}
	exported, err := filepath.Glob(filepath.Join(dir, "exported", "*.jsonl"))
	require.NoError(t, err)
	require.Len(t, exported, 3, "runs, parts and test runs")
	for _, f := range exported {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NotEmpty(t, b, f)
		channels["export "+filepath.Base(f)] = string(b)
	}
	ui := httptest.NewServer(evalui.New(s.DB, evalui.Options{Project: "*"}))
	defer ui.Close()
	for _, path := range []string{"/runs", "/runs/latest", "/api/runs/latest", "/history?test=example.com/gen/s.TestLeaks", "/configs", "/api/configs", "/flaky", "/changes", "/metrics"} {
		resp, err := http.Get(ui.URL + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		channels["UI "+path] = string(b)
	}
	mu.Lock()
	channels["webhook"] = strings.Join(posted, "\n")
	mu.Unlock()
	require.NotEmpty(t, channels["webhook"], "the newly failing test was posted")

	for name, text := range channels {
		assert.NotContains(t, text, secret, name)
	}
	assert.Contains(t, channels["store"], "gitlab.example.com/g/r.git", "the repository is kept, without its token")
	assert.Contains(t, channels["store"], "gpt-4o-mini", "what is not a secret survives")
}

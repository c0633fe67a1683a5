package redact

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedactURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mongodb://localhost:27017", "mongodb://localhost:27017"},
		{"mongodb://user@host/db", "mongodb://user@host/db"},
		{"mongodb://user:hunter2@host:27017/db", "mongodb://user:xxxxx@host:27017/db"},
		{"mongodb+srv://username:password@cluster.mongodb.net/?retryWrites=true&w=majority",
			"mongodb+srv://username:xxxxx@cluster.mongodb.net/?retryWrites=true&w=majority"},
		{"mongodb://u:p@h1:1,h2:2,h3:3/db?replicaSet=rs0", "mongodb://u:xxxxx@h1:1,h2:2,h3:3/db?replicaSet=rs0"},
		{"mongodb://u:p@ss/w@rd@host/db", "mongodb://u:xxxxx@host/db"},
		{"mongodb://u:p%40ss@host/?tls=true&tlsCertificateKeyFilePassword=s3cret&authMechanismProperties=AWS_SESSION_TOKEN:tok",
			"mongodb://u:xxxxx@host/?tls=true&tlsCertificateKeyFilePassword=xxxxx&authMechanismProperties=xxxxx"},
		{"mongodb://u:pw@host/?appName=me@work", "mongodb://u:xxxxx@host/?appName=me@work"},
		{"mongodb://host/?sslClientCertificateKeyPassword=abc", "mongodb://host/?sslClientCertificateKeyPassword=xxxxx"},
		{"mongodb//admin:pw@host", "mongodb//admin:xxxxx@host"},
		{"admin:pw@host", "admin:xxxxx@host"},
		{"not a uri", "not a uri"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, URI(tt.in), tt.in)
	}
	assert.Equal(t, `dial "mongodb://u:xxxxx@h/": refused`, Text(`dial "mongodb://u:pw@h/": refused`))
}

// secrets are the shapes a secret comes in. Each secret value contains
// "S3CR3T" (or is a known token format), so the test can check it is gone.
var secrets = []struct {
	name string
	in   any
}{
	{"password key", map[string]any{"password": "S3CR3T-1"}},
	{"upper-case env key", map[string]any{"DB_PASSWD": "S3CR3T-2"}},
	{"camelCase api key", map[string]any{"apiKey": "S3CR3T-3"}},
	{"acronym key", map[string]any{"OpenAIAPIKey": "S3CR3T-4"}},
	{"header map", map[string]any{"headers": map[string]string{"Authorization": "Bearer S3CR3T-5", "X-Api-Key": "S3CR3T-6"}}},
	{"struct fields", map[string]any{"backend": struct {
		APIKey    string
		OpenAIKey string `json:"openai_key"`
		Model     string
	}{"S3CR3T-7", "S3CR3T-8", "gpt-4o"}}},
	{"pointer to struct", map[string]any{"cfg": &struct{ ClientSecret string }{"S3CR3T-9"}}},
	{"aws key id", map[string]any{"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE"}},
	{"aws secret", map[string]any{"aws_secret_access_key": "S3CR3T-10"}},
	{"postgres url", map[string]any{"dsn": "postgres://app:S3CR3T-11@db:5432/evals?sslmode=disable"}},
	{"https url", map[string]any{"endpoint": "https://user:S3CR3T-12@api.example.com/v1"}},
	{"url query token", map[string]any{"webhook": "https://hooks.example.com/x?token=S3CR3T-13&channel=evals"}},
	{"flag with equals", map[string]any{"args": []string{"serve", "--api-key=S3CR3T-14", "--model", "m1"}}},
	{"flag then value", map[string]any{"args": []any{"--password", "S3CR3T-15", "-v"}}},
	{"command line string", map[string]any{"cmd": "translator --token S3CR3T-16 --beam 5"}},
	{"env assignment", map[string]any{"env": []string{"OPENAI_API_KEY=S3CR3T-17", "LANG=en"}}},
	{"openai token shape", map[string]any{"note": "key sk-proj-abcdefghijklmnopqrstuvwxyz0123"}},
	{"github token", map[string]any{"x": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}},
	{"jwt", map[string]any{"session": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlX2hlcmU"}},
	{"slack token", map[string]any{"notify": "xoxb-123456789012-abcdefghij"}},
	{"private key", map[string]any{"tls": "-----BEGIN RSA PRIVATE KEY-----\nMIIS3CR3T\n-----END RSA PRIVATE KEY-----"}},
	{"json in a string", map[string]any{"raw": `{"client_secret": "S3CR3T-18", "model": "m"}`}},
	{"nested any key map", map[string]any{"by_id": map[int]any{1: map[string]any{"secret": "S3CR3T-19"}}}},
	{"schemeless userinfo", map[string]any{"mongo": "admin:S3CR3T-20@cluster0.example.net"}},
	{"mangled scheme", map[string]any{"mongo": "mongodb//admin:S3CR3T-21@host"}},
	{"basic auth", map[string]any{"auth": "Basic dXNlcjpTM0NSM1QtMjI="}},
	{"google key", map[string]any{"maps": "AIzaSyA1234567890abcdefghijklmnopqrstuv"}},
}

var tokenShapes = []string{"AKIAIOSFODNN7EXAMPLE", "sk-proj-abcdefghij", "ghp_abcdefghij", "eyJhbGciOiJIUzI1NiJ9", "xoxb-123456789012", "MIIS3CR3T", "dXNlcjpTM0NSM1Q", "AIzaSyA1234567890"}

func TestSecretsAreMaskedInEveryShape(t *testing.T) {
	require.GreaterOrEqual(t, len(secrets), 20)
	for _, tt := range secrets {
		t.Run(tt.name, func(t *testing.T) {
			got := fmt.Sprintf("%v", Value(tt.in))
			assert.NotContains(t, got, "S3CR3T", got)
			for _, tok := range tokenShapes {
				assert.NotContains(t, got, tok, got)
			}
			assert.Contains(t, got, Mask)
			// The same secret in free text is masked too, except where
			// only the key said it was one.
			_ = Text(got)
		})
	}
}

func TestValuesThatAreNotSecretsSurvive(t *testing.T) {
	in := map[string]any{
		"model":      "gpt-4o-mini",
		"asr_engine": "whisper-large-v3",
		"tokenizer":  "cl100k_base",
		"max_tokens": 512,
		"passes":     3,
		"sort_key":   "started_at",
		"public_key": "ssh-ed25519 AAAAC3Nza",
		"endpoint":   "https://api.example.com/v1?model=m1",
		"args":       []string{"--model", "m1", "--beam=5", "-v"},
		"language":   "es-en",
		"note":       "tokens per second: 42",
		"when":       "12:30",
		"email":      "team@example.com",
		"flags":      map[string]bool{"streaming": true},
		"pass_rate":  0.9,
	}
	out := Value(in).(map[string]any)
	assert.Equal(t, "gpt-4o-mini", out["model"])
	assert.Equal(t, "whisper-large-v3", out["asr_engine"])
	assert.Equal(t, "cl100k_base", out["tokenizer"])
	assert.Equal(t, int64(512), out["max_tokens"])
	assert.Equal(t, int64(3), out["passes"])
	assert.Equal(t, "started_at", out["sort_key"])
	assert.Equal(t, "ssh-ed25519 AAAAC3Nza", out["public_key"])
	assert.Equal(t, "https://api.example.com/v1?model=m1", out["endpoint"])
	assert.Equal(t, []any{"--model", "m1", "--beam=5", "-v"}, out["args"])
	assert.Equal(t, "tokens per second: 42", out["note"])
	assert.Equal(t, "team@example.com", out["email"])
	assert.Equal(t, map[string]any{"streaming": true}, out["flags"])
	assert.Equal(t, 0.9, out["pass_rate"])
}

func TestIsSecretKey(t *testing.T) {
	for _, k := range []string{"password", "DB_PASSWD", "apiKey", "api_key", "x-api-key", "auth_token", "client-secret",
		"openai_key", "OPENAI_API_KEY", "aws_access_key_id", "AWSSecretAccessKey", "auth", "Authorization", "pwd", "key"} {
		assert.True(t, IsSecretKey(k), k)
	}
	for _, k := range []string{"model", "asr_engine", "language", "passes", "max_tokens", "tokenizer", "sort_key",
		"public_key", "keyboard", "monkey", "passenger", "auth_mode", "author"} {
		assert.False(t, IsSecretKey(k), k)
	}
}

func TestTextKeepsOrdinaryMessages(t *testing.T) {
	for _, s := range []string{
		"cannot reach MongoDB at mongodb://localhost:27017 (connection refused)",
		"--- FAIL: TestX (0.00s)\n    x_test.go:12: got 3, want 4",
		"config: EVALREC_FLUSH_INTERVAL=1ns is out of range",
		"git@github.com:org/repo.git",
	} {
		assert.Equal(t, s, Text(s))
	}
	assert.Equal(t, "run with --password=xxxxx now", Text("run with --password=hunter2 now"))
	assert.Equal(t, "=== RUN   TestASecretThing\n=== ATTR  TestASecretThing token xxxxx\n=== ATTR  TestASecretThing model m1\n",
		Text("=== RUN   TestASecretThing\n=== ATTR  TestASecretThing token hunter2\n=== ATTR  TestASecretThing model m1\n"),
		"an attribute line is masked by its key; a name with Secret in it is no key")
	assert.True(t, strings.HasPrefix(Text("Authorization: Bearer abc.def.ghi"), "Authorization: Bearer xxxxx"))
}

const pemKey = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----\n"

func TestNewShapesOfSecretsAreMasked(t *testing.T) {
	for in, secret := range map[string]string{
		"posting to https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX now": "T0000/B0000",
		"webhook=https://discord.com/api/webhooks/123456/abcDEF-ghi":                           "abcDEF",
		"exp token=abc123def456": "abc123def456",
		"Bearer abcdef123456":    "abcdef123456",
		"mongodb://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI@host/?authMechanism=MONGODB-AWS": "AKIAIOSFODNN7EXAMPLE",
		"mongodb://someuser@host/?authMechanism=MONGODB-AWS":                           "someuser",
		"https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r":              "ghp_abc",
		pemKey:                             "MIIEpAIB",
		pemKey[40:]:                        "VTLw7onL", // a tail that lost the BEGIN line
		pemKey[:len(pemKey)-35] + "more\n": "VTLw7onL", // one that lost the END line
		"repo https://x.example/r?access_token=abcdef&x=1": "abcdef",
		// A key after a path's slash, and a query URL-encoded in another.
		"GET /auth/token=abc123def456":                                          "abc123def456",
		"https://x.example/api;v=1/password=hunter2hunter2":                     "hunter2",
		"next=%2Flogin%3Fuser%3Dme%26token%3Dabc123def456":                      "abc123def456",
		"redirect https://x.example/cb?u=https%3A%2F%2Fy%2F%3Fapi_key%3Dzyx987": "zyx987",
	} {
		out := Text(in)
		if strings.Contains(out, secret) {
			t.Errorf("Text(%q) = %q: %q is still there", in, out, secret)
		}
		if !strings.Contains(out, Mask) {
			t.Errorf("Text(%q) = %q: no mask", in, out)
		}
	}
	if got := Text("before\n" + pemKey + "after"); got != "before\n"+Mask+"\nafter" {
		t.Errorf("the text around a key: %q", got)
	}
	if got := URI("mongodb://AKIAIOSFODNN7EXAMPLE:pw@host/?authMechanism=MONGODB-AWS"); strings.Contains(got, "AKIA") || strings.Contains(got, "pw@") {
		t.Errorf("URI kept the access key ID: %q", got)
	}
	if got := URI("mongodb://app:pw@host/db"); got != "mongodb://app:xxxxx@host/db" {
		t.Errorf("an ordinary user name is no secret: %q", got)
	}
}

// go test -v prints a private key a line at a time.
func TestLinesMaskAPrivateKeyPrintedLineByLine(t *testing.T) {
	var l Lines
	var out strings.Builder
	for _, line := range strings.SplitAfter("    key_test.go:12: here it is\n"+pemKey+"    key_test.go:13: done\n", "\n") {
		out.WriteString(l.Line(line))
	}
	for _, body := range []string{"MIIEpAIB", "VTLw7onL"} {
		if strings.Contains(out.String(), body) {
			t.Errorf("the key's body was printed:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "here it is") || !strings.Contains(out.String(), "key_test.go:13: done") {
		t.Errorf("lines around the key were lost:\n%s", out.String())
	}
}

// TestEachPatternRunsWhereverItCouldMatch: Text runs a pattern only where
// a literal that all its matches hold is present. On text pieced together
// from secrets, their shapes in other cases and ordinary output, every
// match of a pattern must come with its literal, or Text would skip a
// secret.
func TestEachPatternRunsWhereverItCouldMatch(t *testing.T) {
	pieces := []string{" ", "\n", ":", "=", "@", "-", "--", "/", "://", "=== ATTR  TestX ", "token", "Password",
		"AUTHORIZATION", "authorization: ", "Bearer ", "BASIC ", "bearer", "hooks.SLACK.com/services/",
		"DISCORDAPP.com/api/WEBHOOKS/", ".Webhook.Office.com/webhookb2/", "user", "pw", "host", "x.example",
		"case_test.go:42: checked 0 inputs", "=== RUN   TestCase", "abcdefghijklmnopqrstuvwxyz0123456789",
		"ABCDEFGHIJKLMNOP", "sk-", "sk-proj-", "rk_live_", "sk_test_", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
		"github_pat_", "glpat-", "xoxb-", "AIza", "hf_", "eyJ", "eyJabcde.eyJabcde.abcde", "-----BEGIN RSA PRIVATE KEY-----",
		"-----END RSA PRIVATE KEY-----"}
	rng := rand.New(rand.NewPCG(1, 2))
	matched := map[*regexp.Regexp]int{}
	for range 3000 {
		var b strings.Builder
		for range 1 + rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		for pattern := range literalOf {
			if pattern.MatchString(s) {
				matched[pattern]++
				if !may(pattern, s) {
					t.Fatalf("%s matches %q, but its literal is not there: Text would skip it", pattern, s)
				}
			}
		}
	}
	for pattern := range literalOf {
		assert.Positive(t, matched[pattern], "%s never matched: the text does not exercise it", pattern)
	}
	assert.True(t, containsFold("x WebHooks y", "hook"))
	assert.False(t, containsFold("hoo", "hook"))
}

// TestAFileAndLineIsNoAssignment: a test in token_test.go that logs prints
// "token_test.go:40: …"; the line is no token's value.
func TestAFileAndLineIsNoAssignment(t *testing.T) {
	for _, s := range []string{"    token_test.go:40: got 3, want 4", "password_test.go:12:5: mismatch", "    secret_test.go:7: "} {
		assert.Equal(t, s, Text(s))
	}
	assert.Equal(t, "token.txt: xxxxx", Text("token.txt: abc123"), "a value that is no line number is masked")
	assert.Equal(t, "token: xxxxx", Text("token: 40"), "nor is a key without a file's extension spared")
}

// Package redact keeps credentials out of everything evalrec prints or
// stores: connection strings, error messages, the declared system under
// test, test attributes and the output of failed tests.
//
// It masks by key name (a key whose words name a secret: password, token,
// api_key, client_secret, aws_access_key_id, …) and by the shape of a value
// (user:password@host with or without a scheme, secret URI options,
// "Bearer …", --api-key=… and --password X, KEY=value, and the token formats
// of the common providers). Values that are not secrets, such as a model
// name or max_tokens, pass unchanged.
package redact

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Mask is what a secret is replaced with.
const Mask = "xxxxx"

const mask = Mask

// Secret URI options, matched case-insensitively.
var secretOptions = []string{
	"password",
	"tlsCertificateKeyFilePassword",
	"sslClientCertificateKeyPassword",
	"authMechanismProperties",
}

// URI masks the password and secret options of a connection string. It
// works on the text alone: it never parses with the driver, which would do
// DNS lookups for mongodb+srv. A string without "://" is masked as text.
func URI(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return Text(uri)
	}
	// The authority ends at the first "/" or "?" after the last "@", because
	// a password may itself contain "/", "?" or "@".
	hostsStart := 0
	at := strings.LastIndex(rest, "@")
	if q := strings.Index(rest, "?"); q >= 0 && q < at && strings.Contains(rest[q:at], "=") {
		at = strings.LastIndex(rest[:q], "@") // that "@" was inside an option value
	}
	if at >= 0 {
		userinfo := rest[:at]
		user, _, hasPass := strings.Cut(userinfo, ":")
		// A user name can be a secret too: an access key ID (MONGODB-AWS
		// takes one as the user name), or a token given as the user.
		if secretUser(user, rest[at:]) {
			user = mask
		}
		if hasPass {
			rest = user + ":" + mask + rest[at:]
			hostsStart = len(user) + 1 + len(mask) + 1
		} else {
			rest = user + rest[at:]
			hostsStart = len(user) + 1
		}
	}
	if q := strings.Index(rest[hostsStart:], "?"); q >= 0 {
		q += hostsStart
		rest = rest[:q+1] + redactQuery(rest[q+1:])
	}
	if p := strings.Index(rest[hostsStart:], "/"); p >= 0 {
		p += hostsStart
		end := len(rest)
		if i := strings.IndexAny(rest[p:], "?#"); i >= 0 {
			end = p + i
		}
		rest = rest[:p] + redactPath(rest[p:end]) + rest[end:]
	}
	return scheme + "://" + rest
}

// redactPath masks the values of a path's secret parameters: /token=…,
// /api;password=….
func redactPath(path string) string {
	if !strings.Contains(path, "=") {
		return path
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		params := strings.Split(seg, ";")
		for j, p := range params {
			if k, _, ok := strings.Cut(p, "="); ok && IsSecretKey(k) {
				params[j] = k + "=" + mask
			}
		}
		segs[i] = strings.Join(params, ";")
	}
	return strings.Join(segs, "/")
}

// secretUser reports whether a connection string's user name is itself a
// secret: a known token format, or any user of the MONGODB-AWS mechanism
// (an AWS access key ID). rest is what follows the user information.
func secretUser(user, rest string) bool {
	if decoded, err := url.PathUnescape(user); err == nil {
		user = decoded
	}
	return tokens.MatchString(user) || strings.Contains(strings.ToUpper(rest), "AUTHMECHANISM=MONGODB-AWS")
}

// redactQuery masks the values of a query's secret options, and a value
// that holds a secret URL-encoded (a redirect's URL with a token in it).
func redactQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		for _, s := range secretOptions {
			if strings.EqualFold(k, s) || IsSecretKey(k) {
				parts[i] = k + "=" + mask
			}
		}
		if parts[i] == p && holdsEncodedSecret(v) {
			parts[i] = k + "=" + mask
		}
	}
	return strings.Join(parts, "&")
}

// holdsEncodedSecret reports whether v, URL-encoded, holds a secret once
// decoded: a URL or a query with a token in it, passed as a value.
func holdsEncodedSecret(v string) bool {
	if !strings.Contains(v, "%") {
		return false
	}
	d, err := url.QueryUnescape(v)
	return err == nil && Text(d) != d
}

var (
	// A URL of any scheme, up to the end of the token.
	urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)
	// user:password@host without a scheme (or with a mangled one).
	userinfo = regexp.MustCompile(`(^|[^\w.+-])([\w.+-]+):([^\s@"'/]+)@([\w.-]+)`)
	// Authorization: Basic …, Bearer …
	authHeader = regexp.MustCompile(`(?i)(\bauthorization\s*[:=]\s*"?)([A-Za-z]+\s+)?([^\s"',;]+)`)
	bearer     = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{6,})`)
	// --flag=value, --flag value, -flag value.
	flagValue = regexp.MustCompile(`(^|\s)(--?)([A-Za-z][\w.-]*)(=|\s+)([^\s"']+)`)
	// KEY=value, key: value and "key": "value" with a secret key; in a
	// path (/token=…) too, and in a query URL-encoded into another
	// (%3Ftoken%3D…, %26token%3D…).
	assignment = regexp.MustCompile(`(^|[\s,;{(&?/]|%2[Ff]|%26|%3[Ff])["']?([A-Za-z_][\w.-]*)["']?([ \t]*(?:[:=]|%3[Dd])[ \t]*)("[^"\n]*"|'[^'\n]*'|[^\s,;&"')}]+)`)
	// What follows "file.go:" where testing says which line logged: a
	// line, maybe a column.
	fileLine = regexp.MustCompile(`^\d+(:\d+)?:?$`)
	// An attribute as testing prints it: === ATTR  TestName key value.
	attrLine = regexp.MustCompile(`(?m)^(\x16?=== ATTR  \S+ )(\S+)( )(.*)$`)
	// Token formats of the common providers, and PEM private keys.
	tokens = regexp.MustCompile(strings.Join([]string{
		`\bsk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_-]{20,}`,              // OpenAI, Anthropic
		`\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}`,                          // Stripe
		`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,                                   // AWS access key ID
		`\bgh[pousr]_[A-Za-z0-9]{30,}`,                                    // GitHub
		`\bgithub_pat_[A-Za-z0-9_]{30,}`,                                  // GitHub fine-grained
		`\bglpat-[A-Za-z0-9_-]{20,}`,                                      // GitLab
		`\bxox[abprs]-[A-Za-z0-9-]{10,}`,                                  // Slack
		`\bAIza[0-9A-Za-z_-]{35}`,                                         // Google
		`\bhf_[A-Za-z0-9]{30,}`,                                           // Hugging Face
		`\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}`, // JWT
		// A private key from its BEGIN line to its END line, or to the end
		// of a text that lost the END line (see Text for one that lost
		// its BEGIN line).
		`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\z)`,
	}, "|"))
	// Webhook URLs whose path is the secret: Slack, Discord, Microsoft
	// Teams. The host stays, so a reader knows what was there.
	webhook = regexp.MustCompile(`(?i)(\bhooks\.slack\.com/(?:services|workflows|triggers)/|\bdiscord(?:app)?\.com/api/webhooks/|\.webhook\.office\.com/webhookb2/)[^\s"'<>]+`)
)

// Text masks every secret found in free text: connection strings of any
// scheme, user:password@host, authorization headers, secret flags and
// assignments, and known token formats.
func Text(s string) string {
	if s == "" {
		return s
	}
	// A bounded output tail may start inside a private key: all before
	// its END line is the key's body.
	if end := pemEnd.FindStringIndex(s); end != nil && !pemBegin.MatchString(s[:end[0]]) {
		s = mask + s[end[1]:]
	}
	// The order matters: userinfo leaves the password urlInText masked
	// alone.
	if may(tokens, s) {
		s = tokens.ReplaceAllString(s, mask)
	}
	if may(webhook, s) {
		s = webhook.ReplaceAllString(s, "${1}"+mask)
	}
	if may(urlInText, s) {
		s = urlInText.ReplaceAllStringFunc(s, URI)
	}
	if may(userinfo, s) {
		s = userinfo.ReplaceAllStringFunc(s, func(m string) string {
			g := userinfo.FindStringSubmatch(m)
			if g[3] == mask {
				return m
			}
			return g[1] + g[2] + ":" + mask + "@" + g[4]
		})
	}
	if may(authHeader, s) {
		s = authHeader.ReplaceAllString(s, "${1}${2}"+mask)
	}
	if may(bearer, s) {
		s = bearer.ReplaceAllString(s, "${1}${2}"+mask)
	}
	if may(flagValue, s) {
		s = flagValue.ReplaceAllStringFunc(s, func(m string) string {
			g := flagValue.FindStringSubmatch(m)
			if !IsSecretKey(g[3]) {
				return m
			}
			return g[1] + g[2] + g[3] + g[4] + mask
		})
	}
	if may(attrLine, s) {
		s = attrLine.ReplaceAllStringFunc(s, func(m string) string {
			g := attrLine.FindStringSubmatch(m)
			if !IsSecretKey(g[2]) {
				return m
			}
			return g[1] + g[2] + g[3] + mask
		})
	}
	if may(assignment, s) {
		s = assignment.ReplaceAllStringFunc(s, func(m string) string {
			g := assignment.FindStringSubmatch(m)
			if !IsSecretKey(g[2]) && holdsEncodedSecret(g[4]) {
				return strings.TrimSuffix(m, g[4]) + mask
			}
			if !IsSecretKey(g[2]) || strings.EqualFold(g[2], "authorization") || strings.Trim(g[4], `"'`) == mask {
				return m
			}
			if strings.Contains(g[2], ".") && strings.TrimSpace(g[3]) == ":" && fileLine.MatchString(g[4]) {
				return m // a file and line, as testing prints them: token_test.go:40:
			}
			quote := ""
			if q := g[4][:1]; q == `"` || q == `'` {
				quote = q
			}
			return strings.TrimSuffix(m, g[4]) + quote + mask + quote
		})
	}
	return s
}

// literalOf says, for each pattern Text runs, whether s holds a literal
// that every match of the pattern holds. Text runs a pattern only where
// it does: Go's regexp scans the whole text for each pattern, and most
// text (a passing test's output) holds none of these literals.
var literalOf = map[*regexp.Regexp]func(s string) bool{
	tokens:     mayHoldToken,
	webhook:    func(s string) bool { return containsFold(s, "hook") },
	urlInText:  func(s string) bool { return strings.Contains(s, "://") },
	userinfo:   func(s string) bool { return strings.Contains(s, "@") },
	authHeader: func(s string) bool { return containsFold(s, "authorization") },
	bearer:     func(s string) bool { return containsFold(s, "bearer") || containsFold(s, "basic") },
	flagValue:  func(s string) bool { return strings.Contains(s, "-") },
	attrLine:   func(s string) bool { return strings.Contains(s, "=== ATTR  ") },
	assignment: func(s string) bool { return strings.ContainsAny(s, ":=") || containsFold(s, "%3d") },
}

// may reports whether pattern can match s.
func may(pattern *regexp.Regexp, s string) bool { return literalOf[pattern](s) }

// tokenLiterals holds, for each alternative of tokens, a literal that each
// of its matches holds.
var tokenLiterals = []string{
	"sk-", "k_live_", "k_test_", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
	"github_pat_", "glpat-", "xox", "AIza", "hf_", "eyJ", "-----BEGIN ",
}

func mayHoldToken(s string) bool {
	for _, l := range tokenLiterals {
		if strings.Contains(s, l) {
			return true
		}
	}
	return false
}

// containsFold reports whether s holds lower, an ASCII lower-case word,
// in any case, without copying s.
func containsFold(s, lower string) bool {
	for i := 0; i+len(lower) <= len(s); i++ {
		if c := s[i] | 0x20; c == lower[0] && strings.EqualFold(s[i:i+len(lower)], lower) {
			return true
		}
	}
	return false
}

// URIsIn masks every secret found in s; it is [Text], kept for callers that
// quote a connection string in a message.
func URIsIn(s string) string { return Text(s) }

var (
	pemBegin = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)
	pemEnd   = regexp.MustCompile(`-----END [A-Z ]*PRIVATE KEY-----`)
)

// Lines masks text that arrives a line at a time, as go test -v prints
// it: a private key spans many lines, and each line of its body, on its
// own, looks like nothing. The zero value is ready to use; use one per
// stream of lines (per test, where tests run in parallel).
type Lines struct{ inKey bool }

// Line returns line with every secret masked, and the body of a private
// key masked whole.
func (l *Lines) Line(line string) string {
	if l.inKey {
		if pemEnd.MatchString(line) {
			l.inKey = false
			return Text(line) // masks up to the END line
		}
		return mask + line[len(strings.TrimRight(line, "\r\n")):]
	}
	if pemBegin.MatchString(line) && !pemEnd.MatchString(line) {
		l.inKey = true
	}
	return Text(line)
}

// Each masks the secrets in each of ss, as [Text] does, in a new slice
// when one changes (ss may be the caller's configuration).
func Each(ss []string) []string {
	for i, s := range ss {
		if m := Text(s); m != s {
			out := slices.Clone(ss)
			out[i] = m
			for j := i + 1; j < len(out); j++ {
				out[j] = Text(out[j])
			}
			return out
		}
	}
	return ss
}

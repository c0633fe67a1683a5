// Package redact keeps credentials out of everything evalrec prints or stores.
package redact

import (
	"regexp"
	"strings"
)

// Secret URI options, matched case-insensitively.
var secretOptions = []string{
	"password",
	"tlsCertificateKeyFilePassword",
	"sslClientCertificateKeyPassword",
	"authMechanismProperties",
}

const mask = "xxxxx"

// URI masks the password and secret options of a MongoDB connection
// string. It works on the text alone: it never parses with the driver, which
// would do DNS lookups for mongodb+srv.
func URI(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return uri
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
		if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
			rest = user + ":" + mask + rest[at:]
			hostsStart = len(user) + 1 + len(mask) + 1
		} else {
			hostsStart = at + 1
		}
	}
	if q := strings.Index(rest[hostsStart:], "?"); q >= 0 {
		q += hostsStart
		rest = rest[:q+1] + redactQuery(rest[q+1:])
	}
	return scheme + "://" + rest
}

func redactQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		for _, s := range secretOptions {
			if strings.EqualFold(k, s) {
				parts[i] = k + "=" + mask
			}
		}
	}
	return strings.Join(parts, "&")
}

var uriInText = regexp.MustCompile(`mongodb(\+srv)?://[^\s"']+`)

// URIsIn masks every MongoDB connection string found in s, for error
// messages that may quote one.
func URIsIn(s string) string {
	return uriInText.ReplaceAllStringFunc(s, URI)
}

var secretKey = regexp.MustCompile(`(?i)(passw(or)?d|^pass$|secret|token|api[_-]?key|credential|private[_-]?key)`)

// IsSecretKey reports whether a configuration key names a secret, so its
// value must not be stored.
func IsSecretKey(k string) bool { return secretKey.MatchString(k) }

// Mask is what a secret is replaced with.
const Mask = mask

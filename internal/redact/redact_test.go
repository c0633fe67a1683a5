package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
		{"not a uri", "not a uri"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, URI(tt.in), tt.in)
	}
	assert.Equal(t, `dial "mongodb://u:xxxxx@h/": refused`, URIsIn(`dial "mongodb://u:pw@h/": refused`))
}

func TestIsSecretKey(t *testing.T) {
	for _, k := range []string{"password", "DB_PASSWD", "apiKey", "api_key", "auth_token", "client-secret"} {
		assert.True(t, IsSecretKey(k), k)
	}
	for _, k := range []string{"model", "asr_engine", "language", "passes"} {
		assert.False(t, IsSecretKey(k), k)
	}
}

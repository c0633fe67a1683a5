package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPostRetriesUntilTheReceiverTakesIt(t *testing.T) {
	var calls atomic.Int64
	var got Message
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
	}))
	defer srv.Close()
	m := Message{Text: "2 regressions in example.com/a", Project: "example.com/a",
		Regressions: []Finding{{Test: "t", Metric: "wer", Base: 0.1, Cand: 0.2, P: 0.0001}}, NewFailures: []string{"x"}}
	err := Post(context.Background(), srv.URL+"/hooks/T000/SECRET", m, Options{Backoff: time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, int64(3), calls.Load())
	assert.Equal(t, m.Text, got.Text)
	assert.Equal(t, "wer", got.Regressions[0].Metric)
}

// Slack reads <…> as a link or a mention and & as the start of an entity:
// a test named TestX/<!channel> must not ping a channel.
func TestPostEscapesWhatSlackReadsAsMarkup(t *testing.T) {
	var got Message
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
	}))
	defer srv.Close()
	m := Message{Text: "1 newly failing test (TestX/<!channel>_&_a>b)", NewFailures: []string{"TestX/<!channel>_&_a>b"}}
	require.NoError(t, Post(context.Background(), srv.URL, m, Options{}))
	assert.Equal(t, "1 newly failing test (TestX/&lt;!channel&gt;_&amp;_a&gt;b)", got.Text)
	assert.Equal(t, m.NewFailures, got.NewFailures, "fields for programs are left as they are")
}

func TestPostGivesUpWithoutLeakingTheWebhook(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		time.Sleep(200 * time.Millisecond)
	}))
	defer srv.Close()
	err := Post(context.Background(), srv.URL+"/hooks/T000/SECRET", Message{Text: "x"}, Options{Timeout: 20 * time.Millisecond, Backoff: time.Millisecond})
	require.Error(t, err)
	assert.Equal(t, int64(3), calls.Load(), "three attempts")
	assert.NotContains(t, err.Error(), "SECRET")
	assert.Contains(t, err.Error(), "timed out")

	calls.Store(0)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer bad.Close()
	err = Post(context.Background(), bad.URL+"/SECRET", Message{Text: "x"}, Options{Backoff: time.Millisecond})
	require.Error(t, err)
	assert.Equal(t, int64(1), calls.Load(), "a 404 is not retried")
	assert.True(t, strings.Contains(err.Error(), "404"), err.Error())
	assert.Error(t, Post(context.Background(), "ftp://x", Message{}, Options{}))
}

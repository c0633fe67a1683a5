// Package notify posts alerts (regressions, new failures, change points)
// to a webhook as JSON. The message carries a Slack-compatible "text" for
// people and structured fields for programs. Posting retries with a
// timeout, and its failure is the caller's to report: it never fails a
// suite.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Message is what is posted.
type Message struct {
	Text         string       `json:"text"` // plain text, which Slack, Mattermost and Teams show
	Project      string       `json:"project,omitempty"`
	Run          string       `json:"run,omitempty"`
	Regressions  []Finding    `json:"regressions"`
	NewFailures  []string     `json:"new_failures"`
	ChangePoints []ChangeNote `json:"change_points"`
}

// Finding is one regression.
type Finding struct {
	Test   string  `json:"test"`
	Metric string  `json:"metric"`
	Base   float64 `json:"base"`
	Cand   float64 `json:"cand"`
	P      float64 `json:"p,omitempty"`
}

// ChangeNote is one change point.
type ChangeNote struct {
	Series string  `json:"series"` // test and metric, or the run's score
	Run    string  `json:"run"`    // the first run after the change
	Commit string  `json:"commit,omitempty"`
	Before float64 `json:"before"`
	After  float64 `json:"after"`
	P      float64 `json:"p"`
	Worse  bool    `json:"worse"`
}

// Empty reports whether there is nothing to say.
func (m Message) Empty() bool {
	return len(m.Regressions)+len(m.NewFailures)+len(m.ChangePoints) == 0
}

// Options tune Post. The zero value uses the defaults.
type Options struct {
	Attempts int           // default 3
	Timeout  time.Duration // per attempt; default 5 s
	Backoff  time.Duration // before the second attempt, doubling; default 500 ms
	Client   *http.Client
}

// Post sends m to the webhook at rawURL, its Text escaped for Slack,
// trying again on network errors, 429 and 5xx answers. Errors name the
// webhook's host only: its path often holds its secret.
func Post(ctx context.Context, rawURL string, m Message, opt Options) error {
	if opt.Attempts <= 0 {
		opt.Attempts = 3
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 500 * time.Millisecond
	}
	if opt.Client == nil {
		opt.Client = http.DefaultClient
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the webhook address is not an http(s) URL")
	}
	m.Text = slackText.Replace(m.Text)
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	wait := opt.Backoff
	var last error
	for attempt := 1; attempt <= opt.Attempts; attempt++ {
		retry, err := post(ctx, opt, rawURL, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry || attempt == opt.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("posting to %s: %w", u.Host, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
	return fmt.Errorf("posting to %s: %w", u.Host, last)
}

// slackText escapes what Slack's text format reads as markup: <…> is a
// link or a mention (<!channel>), & begins an entity.
var slackText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func post(ctx context.Context, opt Options, rawURL string, body []byte) (retry bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := opt.Client.Do(req)
	if err != nil {
		// The URL, and so its secret, is part of net/http's error text.
		return true, fmt.Errorf("no answer (%s)", errorKind(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	switch {
	case resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("answered %s", resp.Status)
	}
	return false, fmt.Errorf("answered %s", resp.Status)
}

func errorKind(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "transport error"
}

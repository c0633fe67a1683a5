package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"evalrec.dev/internal/ui"
)

type uiCmd struct {
	env         *environment
	fs          *flag.FlagSet
	addr        string
	token       string
	testSeries  bool
	project     string
	allProjects bool
}

func newUICmd(env *environment) *uiCmd {
	c := &uiCmd{env: env, fs: flag.NewFlagSet("ui", flag.ContinueOnError)}
	c.fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen on this address; any but loopback needs a token")
	c.fs.StringVar(&c.token, "token", os.Getenv("EVALREC_UI_TOKEN"), "require this token (default $EVALREC_UI_TOKEN; off loopback, one is made up when none is given)")
	c.fs.BoolVar(&c.testSeries, "metrics-tests", false, "add evalrec_test_score, one series per test of each latest run (at most 5,000), to /metrics")
	registerProject(c.fs, &c.project, &c.allProjects)
	return c
}

func (c *uiCmd) command() *ffcli.Command {
	return &ffcli.Command{
		Name: "ui", ShortUsage: "evalrec ui [-addr 127.0.0.1:8080] [-token T] [-metrics-tests]",
		ShortHelp: "Serve the web UI (runs, history, trends, compare, flaky, changes) and Prometheus metrics at /metrics.",
		LongHelp: `Every page has a JSON twin: /runs and /api/runs, /runs/RUN and
/api/runs/RUN, and so on. /metrics is for Prometheus. The UI binds to
loopback by default; on another address it requires a token, given as
?token=…, a cookie, or "Authorization: Bearer …" (for Prometheus).`,
		FlagSet: c.fs, Exec: c.Run,
	}
}

// Run serves until interrupted.
func (c *uiCmd) Run(ctx context.Context, _ []string) error {
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", c.addr, err)
	}
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	madeUp := false
	if c.token == "" && !loopback {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		c.token, madeUp = hex.EncodeToString(b), true
	}
	conn, err := openStore(ctx, c.env)
	if err != nil {
		return err
	}
	defer conn.Close()
	handler := ui.New(conn.DB, ui.Options{Project: projectScope(c.project, c.allProjects), Token: c.token, TestSeries: c.testSeries,
		Loopback: loopback, Addr: c.addr})
	srv := &http.Server{Addr: c.addr, ReadHeaderTimeout: 10 * time.Second, Handler: handler}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	// A token the user chose is theirs to know: it is never printed. One
	// made up here is, once, in the address to open.
	url := "http://" + ln.Addr().String() + "/"
	switch {
	case madeUp:
		url += "?token=" + c.token
	case c.token != "":
		url += " (with your token)"
	}
	fmt.Fprintf(c.env.stdout, "evalrec ui on %s (%s); Ctrl-C stops it\n", url, conn.Where)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	// The flaky and changes views are computed when runs land, not when
	// someone first opens them.
	go func() {
		for t := time.NewTicker(ui.WarmEvery); ; {
			handler.Warm(ctx)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

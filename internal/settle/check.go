package settle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"evalrec.dev/internal/redact"
	"evalrec.dev/store"
)

// Check reports what would keep an ingester from storing into the store
// uri names, as far as a program without a driver can tell: an SQLite
// file that is not a database, or a MongoDB server that no connection
// reaches before ctx ends. A test binary says so where its user sees it,
// since no one sees a detached ingester fail.
func Check(ctx context.Context, uri string) error {
	switch store.Scheme(uri) {
	case "sqlite":
		path, err := store.SQLitePath(uri)
		if err != nil {
			return err
		}
		return checkSQLite(path)
	case "mongodb", "mongodb+srv":
		return checkMongo(ctx, uri)
	}
	return nil
}

// ErrDamaged says the store's file is not an SQLite database.
var ErrDamaged = fmt.Errorf("%w: file is not a database", store.ErrDamaged)

// sqliteMagic begins every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// checkSQLite reads the file's header: a file that does not exist or is
// empty becomes a store; any other must begin as SQLite's do.
func checkSQLite(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	switch {
	case n == 0 && err == io.EOF:
		return nil
	case !bytes.Equal(head[:n], sqliteMagic):
		return ErrDamaged
	}
	return nil
}

// checkMongo dials the servers the connection string names (through its
// SRV record for mongodb+srv) until one answers.
func checkMongo(ctx context.Context, uri string) error {
	unreachable := func(err error) error {
		// "connection refused", not "dial tcp 127.0.0.1:1: connect:
		// connection refused": the address is in the message already.
		var sys *os.SyscallError
		if errors.As(err, &sys) {
			err = sys.Err
		}
		return fmt.Errorf("cannot reach MongoDB at %s (%v)", redact.URI(uri), redact.Text(err.Error()))
	}
	u, err := url.Parse(uri)
	if err != nil {
		return unreachable(errors.New("the connection string cannot be read"))
	}
	var addrs []string
	if u.Scheme == "mongodb+srv" {
		_, srvs, err := net.DefaultResolver.LookupSRV(ctx, "mongodb", "tcp", u.Hostname())
		if err != nil {
			return unreachable(err)
		}
		for _, s := range srvs {
			addrs = append(addrs, net.JoinHostPort(strings.TrimSuffix(s.Target, "."), fmt.Sprint(s.Port)))
		}
	} else {
		for _, h := range strings.Split(u.Host, ",") {
			if _, _, err := net.SplitHostPort(h); err != nil {
				h = net.JoinHostPort(strings.Trim(h, "[]"), "27017")
			}
			addrs = append(addrs, h)
		}
	}
	var d net.Dialer
	for _, a := range addrs {
		c, derr := d.DialContext(ctx, "tcp", a)
		if derr == nil {
			c.Close()
			return nil
		}
		err = derr
	}
	if err == nil {
		err = errors.New("it names no server")
	}
	return unreachable(err)
}

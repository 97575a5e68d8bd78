// Package pgtest gives tests a fresh PostgreSQL database each. It uses the
// server named by VIGIL_TEST_POSTGRES (a postgres:// URL of a role that may
// create databases), or a local server at 127.0.0.1:5432 if one answers.
// Without either, tests skip, except under CI=true, where they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names the variable holding the server's URL.
const Env = "VIGIL_TEST_POSTGRES"

// local is tried when Env is unset.
const local = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	once    sync.Once
	baseURL string
	why     string
)

// Base returns the URL of the server tests use and "" with the reason when
// there is none.
func Base() (string, string) {
	once.Do(func() {
		u := os.Getenv(Env)
		if u == "" {
			u = local
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			why = "no PostgreSQL at " + redact(u) + ": " + err.Error()
			if os.Getenv(Env) == "" {
				why += " (set " + Env + " to a server's URL)"
			}
			return
		}
		conn.Close(ctx)
		baseURL = u
	})
	return baseURL, why
}

// Fresh creates an empty database for t, drops it when t ends, and returns
// its URL. It skips t when no server answers, unless VIGIL_TEST_POSTGRES is
// set or CI=true, where it fails t.
func Fresh(t testing.TB) string {
	t.Helper()
	base, why := Base()
	if base == "" {
		if os.Getenv(Env) != "" || os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %s", why)
		}
		t.Skipf("pgtest: %s", why)
	}
	name := "vigil_test_" + random()
	ctx := context.Background()
	if err := admin(ctx, base, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := admin(ctx, base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

// admin runs one statement on the base database.
func admin(ctx context.Context, base, sql string) error {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func random() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// redact hides a password in u.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

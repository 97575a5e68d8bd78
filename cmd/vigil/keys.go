package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/storage"
	"github.com/vigil-auth/vigil/storage/bolt"
)

func keysCommands() []command {
	return []command{
		{"list", "", "list signing keys (no key material)", listKeys},
		{"rotate", "[--offline --data DIR]", "make a new signing key; the old one stays published until its tokens expire", rotateKeys},
	}
}

func listKeys(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("keys list", "keys list [flags]")
	af := e.addAdminFlags(fs)
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 0)
	}
	if err != nil {
		return err
	}
	c, err := e.connect(af)
	if err != nil {
		return err
	}
	b, err := c.call(ctx, "GET", "/admin/keys", nil)
	if err != nil || af.json {
		return orPrint(err, e.stdout, b)
	}
	return keyTable(e, b)
}

func keyTable(e *cli, b []byte) error {
	var ans keyList
	if err := json.Unmarshal(b, &ans); err != nil {
		return err
	}
	tw := e.newTable()
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tPUBLISHED UNTIL")
	for _, k := range ans.Keys {
		state := "active"
		if !k.Active {
			state = "retired " + stamp(k.RetiredAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Alg, state, stamp(k.CreatedAt), stamp(k.PublishUntil))
	}
	return tw.Flush()
}

// rotateKeys rotates through the admin API of a running server, or with
// --offline opens the data directory itself: that needs the server
// stopped (the data file is locked while it runs) and the same VIGIL_SECRET
// it runs with, if any.
func rotateKeys(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("keys rotate", "keys rotate [flags]")
	af := e.addAdminFlags(fs)
	offline := fs.Bool("offline", false, "rotate in the data directory (--data) of a stopped server instead of through the admin API")
	alg := fs.String("alg", "", "with --offline: algorithm of the new key, ES256 or EdDSA (default: the current one, or "+config.DefaultKeyAlg+")")
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 0)
	}
	if err != nil {
		return err
	}
	if *offline {
		return rotateOffline(ctx, e, firstSet(af.data, e.getenv("VIGIL_DATA"), config.DefaultData), *alg)
	}
	c, err := e.connect(af)
	if err != nil {
		return err
	}
	b, err := c.call(ctx, "POST", "/admin/keys/rotate", nil)
	if err != nil || af.json {
		return orPrint(err, e.stdout, b)
	}
	return keyTable(e, b)
}

func rotateOffline(ctx context.Context, e *cli, data, alg string) error {
	log := slog.New(slog.DiscardHandler)
	if _, err := os.Stat(filepath.Join(data, server.DBFile)); err != nil {
		return fmt.Errorf("no server data in %s: %w", data, err)
	}
	if alg == "" {
		var err error
		if alg, err = storedAlg(ctx, filepath.Join(data, server.DBFile)); err != nil {
			return err
		}
	}
	s := config.Defaults()
	s.Data, s.KeyRotateAfter, s.KeyAlg = data, 0, firstSet(alg, config.DefaultKeyAlg)
	st, err := server.OpenState(ctx, s, server.WithLogger(log), server.WithGetenv(e.getenv))
	if err != nil {
		return err
	}
	defer st.Close()
	before := st.Keys().ActiveKeyID()
	if err := st.Keys().Rotate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "rotated signing key %s -> %s (%s)\n", before, st.Keys().ActiveKeyID(), data)
	return nil
}

// storedAlg returns the algorithm of the active signing key in the bbolt
// file at path, or "".
func storedAlg(ctx context.Context, path string) (string, error) {
	store, err := bolt.Open(path, bolt.WithLockTimeout(time.Second))
	if err != nil {
		return "", err
	}
	defer store.Close()
	return activeAlg(ctx, store), nil
}

// activeAlg returns the algorithm of the active signing key in store, or "".
func activeAlg(ctx context.Context, store storage.Reader) string {
	ks, err := store.ListKeys(ctx)
	if err != nil {
		return ""
	}
	for _, k := range ks {
		if k.RetiredAt.IsZero() {
			return k.Alg
		}
	}
	return ""
}

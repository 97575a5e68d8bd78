package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/vigil-auth/vigil/internal/config"
	"github.com/vigil-auth/vigil/internal/server"
	"github.com/vigil-auth/vigil/storage/bolt"
)

func dbCommands() []command {
	return []command{
		{"backup", "FILE", "write a consistent copy of the running server's database to FILE (admin API), and check it", dbBackup},
		{"restore", "FILE [--data DIR]", "with the server stopped: replace the database by the backup FILE; every session of the backup ends", dbRestore},
		{"end-sessions", "[--data DIR] [--store URL]", "with every instance stopped, after restoring a database by other means (a PostgreSQL dump or snapshot, a file-system snapshot): end every session, as restore does", dbEndSessions},
		{"check", "[FILE] [--data DIR]", "with the server stopped: run the consistency check of a database file (default: the data directory's)", dbCheck},
		{"stats", "[FILE] [--data DIR]", "with the server stopped: print the space each bucket of a database file takes (keys, bytes, pages)", dbStats},
	}
}

// dbBackup fetches POST /admin/backup into FILE: written to FILE.partial,
// synced, checked, then renamed, so FILE is either a whole, checked copy
// or absent.
func dbBackup(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("db backup", "db backup FILE [flags]")
	af := e.addAdminFlags(fs)
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 1)
	}
	if err != nil {
		return err
	}
	c, err := e.connect(af)
	if err != nil {
		return err
	}
	b, err := c.call(ctx, "POST", "/admin/backup", nil)
	if err != nil {
		return err
	}
	dst := pos[0]
	tmp := dst + ".partial"
	if err := server.WriteSynced(tmp, b); err != nil {
		return err
	}
	if err := server.CheckFile(tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("the backup failed its check: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backup written to %s (%d bytes, checked)\n", dst, len(b))
	return nil
}

func dbRestore(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("db restore", "db restore FILE [flags]")
	data := fs.String("data", "", "data directory (env VIGIL_DATA; default "+config.DefaultData+")")
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 1)
	}
	if err != nil {
		return err
	}
	dir := firstSet(*data, e.getenv("VIGIL_DATA"), config.DefaultData)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	rep, err := server.Restore(ctx, dir, pos[0], time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s into %s; %d sessions of the backup ended (their tokens revoked)\n",
		pos[0], filepath.Join(dir, server.DBFile), rep.Sessions)
	if rep.Previous != "" {
		fmt.Fprintf(e.stdout, "the database it replaced is kept as %s\n", rep.Previous)
	}
	fmt.Fprintln(e.stdout, "next: start the server, re-apply the configuration file, and review admin changes made after the backup (docs/OPERATIONS.md)")
	return nil
}

// dbEndSessions ends every session of a database restored by other means
// than vigil db restore.
func dbEndSessions(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("db end-sessions", "db end-sessions [flags]")
	data := fs.String("data", "", "data directory (env VIGIL_DATA; default "+config.DefaultData+")")
	store := fs.String("store", "", "database: bolt (default: the data directory's file) or a postgres:// URL (env VIGIL_STORE)")
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 0)
	}
	if err != nil {
		return err
	}
	s := config.Defaults()
	s.Data = firstSet(*data, e.getenv("VIGIL_DATA"), config.DefaultData)
	s.Store = firstSet(*store, e.getenv("VIGIL_STORE"))
	n, err := server.EndRestoredSessions(ctx, s, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d sessions ended (their tokens revoked): nothing issued before the restore is trusted\n", n)
	fmt.Fprintln(e.stdout, "next: start the server, re-apply the configuration file, and review admin changes made after the backup (docs/OPERATIONS.md)")
	return nil
}

// dbFile parses the flags of db command name: the database file is its
// argument, else the data directory's.
func dbFile(e *cli, name string, args []string) (string, error) {
	fs := e.newFlagSet("db "+name, "db "+name+" [FILE] [flags]")
	data := fs.String("data", "", "data directory (env VIGIL_DATA; default "+config.DefaultData+")")
	pos, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) > 1 {
		return "", wantArgs(fs, pos, 1)
	}
	if len(pos) == 1 {
		return pos[0], nil
	}
	return filepath.Join(firstSet(*data, e.getenv("VIGIL_DATA"), config.DefaultData), server.DBFile), nil
}

func dbCheck(_ context.Context, e *cli, args []string) error {
	path, err := dbFile(e, "check", args)
	if err != nil {
		return err
	}
	if err := server.CheckFile(path); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", path)
	return nil
}

func dbStats(_ context.Context, e *cli, args []string) error {
	path, err := dbFile(e, "stats", args)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return err
	}
	store, err := bolt.Open(path)
	if err != nil {
		return err
	}
	st, err := store.Stats()
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return printStats(e.stdout, st)
}

// printStats writes st as a table: a row a bucket, then the totals.
func printStats(out io.Writer, st bolt.FileStats) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "bucket\tkeys\tkey bytes\tvalue bytes\tleaf pages\tbranch pages\tleaf fill\tMiB\t")
	var total int64
	for _, b := range st.Buckets {
		fill := 0.0
		if b.LeafPages > 0 {
			fill = 100 * float64(b.LeafInuse) / float64(int64(b.LeafPages)*int64(st.PageSize))
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%.0f%%\t%.1f\t\n", b.Name, b.Keys, b.KeyBytes, b.ValueBytes,
			b.LeafPages, b.BranchPages, fill, float64(b.Bytes)/(1<<20))
		total += b.Bytes
	}
	fmt.Fprintf(w, "all buckets\t\t\t\t\t\t\t%.1f\t\n", float64(total)/(1<<20))
	fmt.Fprintf(w, "free pages\t%d\t\t\t\t\t\t%.1f\t\n", st.FreePages, float64(int64(st.FreePages)*int64(st.PageSize))/(1<<20))
	fmt.Fprintf(w, "file\t\t\t\t\t\t\t%.1f\t\n", float64(st.FileBytes)/(1<<20))
	return w.Flush()
}

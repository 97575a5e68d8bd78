package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/vigil-auth/vigil/internal/admin"
)

// auditCommand is "vigil audit": the audit log of a client and/or a
// session, newest first (--oldest: oldest first), from the admin API.
func auditCommand(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("audit", "audit [--client ID] [--sid SID] [--since TIME|DURATION] [--limit N] [--oldest] [flags]")
	af := e.addAdminFlags(fs)
	client := fs.String("client", "", "only records about this client")
	sid := fs.String("sid", "", "only records about this session")
	since := fs.String("since", "", "only records from this RFC 3339 time, or this long ago (e.g. 1h)")
	limit := fs.Int("limit", 0, "at most this many records (server default 100): the newest, or with --oldest the oldest")
	oldest := fs.Bool("oldest", false, "list the oldest records first (default: newest first)")
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 0)
	}
	if err != nil {
		return err
	}
	q := url.Values{"order": {"newest"}}
	if *oldest {
		q.Set("order", "oldest")
	}
	for k, v := range map[string]string{"client": *client, "sid": *sid, "since": *since} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *limit != 0 {
		q.Set("limit", itoa(*limit))
	}
	c, err := e.connect(af)
	if err != nil {
		return err
	}
	path := "/admin/audit?" + q.Encode()
	b, err := c.call(ctx, "GET", path, nil)
	if err != nil || af.json {
		return orPrint(err, e.stdout, b)
	}
	return auditTable(e, b)
}

func auditTable(e *cli, b []byte) error {
	var out admin.AuditOutput
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("the admin API's answer is not what this version expects: %w", err)
	}
	tw := e.newTable()
	fmt.Fprintln(tw, "SEQ\tTIME\tTYPE\tCLIENT\tSESSION\tOUTCOME\tREASON\tDETAIL")
	for _, r := range out.Records {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, stamp(r.At), r.Type, dash(r.ClientID),
			dash(r.SessionID), r.Outcome, dash(r.Reason), dash(r.Detail))
	}
	return tw.Flush()
}

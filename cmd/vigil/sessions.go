package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-auth/vigil/internal/admin"
	"github.com/vigil-auth/vigil/risk"
	"github.com/vigil-auth/vigil/storage"
)

func sessionCommands() []command {
	return []command{
		{"list", "[--client ID] [--status active|terminated] [--created-from TIME] [--created-to TIME] [--limit N]", "list sessions, newest first", listSessions},
		{"show", "SID", "print a session's tokens and risk timeline", showSession},
		{"terminate", "SID [--reason TEXT]", "end a session and revoke every token in it", terminateSession},
	}
}

func sessionPath(sid string) string { return "/admin/sessions/" + url.PathEscape(sid) }

func listSessions(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("session list", "session list [flags]")
	af := e.addAdminFlags(fs)
	client := fs.String("client", "", "only sessions of this client")
	status := fs.String("status", "", "only sessions with this status: active or terminated")
	from := fs.String("created-from", "", "only sessions created at or after this RFC 3339 time, or this long ago (such as 1h)")
	to := fs.String("created-to", "", "only sessions created at or before this RFC 3339 time, or this long ago (such as 1h)")
	limit := fs.Int("limit", 0, "at most this many sessions (server default 100)")
	pos, err := parse(fs, args)
	if err == nil {
		err = wantArgs(fs, pos, 0)
	}
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"client": *client, "status": *status, "created_from": *from, "created_to": *to} {
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
	path := "/admin/sessions"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	b, err := c.call(ctx, "GET", path, nil)
	if err != nil || af.json {
		return orPrint(err, e.stdout, b)
	}
	return sessionTable(e, b)
}

func sessionTable(e *cli, b []byte) error {
	var ans sessionList
	if err := json.Unmarshal(b, &ans); err != nil {
		return err
	}
	tw := e.newTable()
	fmt.Fprintln(tw, "SID\tCLIENT\tSTATUS\tCREATED\tEXPIRES\tORIGIN")
	for _, s := range ans.Sessions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.ClientID, sessionStatus(s),
			stamp(s.CreatedAt), stamp(s.ExpiresAt), dash(s.Origin))
	}
	return tw.Flush()
}

func orPrint(err error, w io.Writer, b []byte) error {
	if err != nil {
		return err
	}
	return printJSON(w, b)
}

func sessionStatus(s admin.SessionOutput) string {
	switch {
	case s.Status == storage.SessionActive && !s.Live:
		return "expired"
	case s.Status == "":
		return "-"
	}
	return s.Status
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func showSession(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("session show", "session show SID [flags]")
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
	b, err := c.call(ctx, "GET", sessionPath(pos[0]), nil)
	if err != nil || af.json {
		return orPrint(err, e.stdout, b)
	}
	var d admin.SessionDetail
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	return printTimeline(e, d)
}

// printTimeline renders a session for people: a header, its sticky facts,
// its tokens, then every event with its score (suspicion in percent),
// level, action and reasons (evidence in decibels of log-odds), and the
// impact that set the call's tolerance.
func printTimeline(e *cli, d admin.SessionDetail) error {
	s := d.Session
	w := e.stdout
	fmt.Fprintf(w, "session %s  client %s  subject %s  status %s\n", s.ID, s.ClientID, s.Subject, sessionStatus(s))
	fmt.Fprintf(w, "created %s  expires %s  origin %s\n", stamp(s.CreatedAt), stamp(s.ExpiresAt), dash(s.Origin))
	if s.Status == storage.SessionTerminated {
		fmt.Fprintf(w, "terminated %s: %s\n", stamp(s.TerminatedAt), dash(s.Reason))
	}
	for _, f := range s.Facts {
		fmt.Fprintf(w, "fact %s +%d at %s %s\n", f.Code, f.Points, stamp(f.At), f.Detail)
	}
	fmt.Fprintf(w, "\ntokens (%d):\n", len(d.Tokens))
	tw := e.newTable()
	for _, t := range d.Tokens {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", shortID(t.ID), t.Kind, t.Format, tokenState(t),
			dash(strings.Join(t.Scopes, " ")), dash(strings.Join(t.Audiences, " ")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntimeline (%d events):\n", len(d.Events))
	tw = e.newTable()
	fmt.Fprintln(tw, "  TIME\tTYPE\tCLIENT\tSCORE\tLEVEL\tACTION\tREASONS")
	for _, ev := range d.Events {
		evidence, impact := splitImpact(ev.Reasons)
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\t%s\n", stamp(ev.At), ev.Type, dash(ev.ClientID), ev.Score,
			dash(ev.Level), dash(ev.Action), dash(reasons(evidence)))
		if impact != nil {
			fmt.Fprintf(tw, "  \t\t\t\t\t\timpact %d%%: %s\n", impact.Points, impact.Evidence)
		}
		if ev.Detail != "" {
			fmt.Fprintf(tw, "  \t\t\t\t\t\t%s\n", ev.Detail)
		}
	}
	return tw.Flush()
}

// splitImpact separates the evidence behind a decision's suspicion (points
// in decibels of log-odds) from the impact that set its tolerance.
func splitImpact(rs []storage.Reason) ([]storage.Reason, *storage.Reason) {
	var impact *storage.Reason
	out := make([]storage.Reason, 0, len(rs))
	for i, r := range rs {
		if r.Code == risk.ReasonImpact {
			impact = &rs[i]
			continue
		}
		out = append(out, r)
	}
	return out, impact
}

func reasons(rs []storage.Reason) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%s(%+d)", r.Code, r.Points)
		if r.Evidence != "" {
			parts[i] += " " + r.Evidence
		}
	}
	return strings.Join(parts, "; ")
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12] + "…"
	}
	return id
}

func tokenState(t storage.Token) string {
	switch {
	case !t.RevokedAt.IsZero():
		return "revoked " + stamp(t.RevokedAt)
	case !t.RotatedAt.IsZero():
		return "rotated " + stamp(t.RotatedAt)
	}
	return "exp " + stamp(t.ExpiresAt)
}

func terminateSession(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("session terminate", "session terminate SID [flags]")
	af := e.addAdminFlags(fs)
	reason := fs.String("reason", "", "why the session is ended (recorded in its timeline and the audit log)")
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
	var body []byte
	if *reason != "" {
		body, _ = json.Marshal(terminateBody{Reason: *reason})
	}
	b, err := c.call(ctx, "POST", sessionPath(pos[0])+"/terminate", body)
	if err != nil || af.json {
		return orPrint(err, e.stdout, b)
	}
	fmt.Fprintf(e.stdout, "terminated session %s; every token in it is revoked\n", pos[0])
	return nil
}

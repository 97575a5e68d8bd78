package main

import (
	"context"
	"encoding/json"

	"github.com/vigil-auth/vigil/internal/admin"
)

// signalCommands are "vigil signal …".
func signalCommands() []command {
	return []command{
		{"send", "(--session SID | --client ID) --type TYPE [--level L] [--reason TEXT]",
			"deliver a CAEP-shaped security event (credential-change, session-revoked, risk-level-change)", sendSignal},
	}
}

// sendSignal posts a security event to /admin/signals and prints what each
// affected session's decision became.
func sendSignal(ctx context.Context, e *cli, args []string) error {
	fs := e.newFlagSet("signal send", "signal send (--session SID | --client ID) --type TYPE [flags]")
	af := e.addAdminFlags(fs)
	sid := fs.String("session", "", "the session the event is about")
	client := fs.String("client", "", "the client the event is about (every active session of it)")
	typ := fs.String("type", "", "credential-change, session-revoked or risk-level-change")
	level := fs.String("level", "", "for risk-level-change: low, medium or high")
	reason := fs.String("reason", "", "why (recorded in the audit log)")
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
	body, _ := json.Marshal(admin.SignalInput{SessionID: *sid, ClientID: *client, Type: *typ, Level: *level, Reason: *reason})
	b, err := c.call(ctx, "POST", "/admin/signals", body)
	return orPrint(err, e.stdout, b)
}

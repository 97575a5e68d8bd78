package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vigil-auth/vigil/rs"
)

// tickets is an in-memory ticket store. It is safe for concurrent use.
type tickets struct {
	mu       sync.Mutex
	subjects map[string]string
	comments map[string][]string
}

func newTickets() *tickets {
	return &tickets{subjects: map[string]string{"T-1": "Printer on fire", "T-2": "VPN drops hourly"},
		comments: map[string][]string{}}
}

// getArgs and commentArgs are the tools' inputs; the SDK derives their
// JSON Schemas and validates calls against them.
type getArgs struct {
	ID string `json:"id" jsonschema:"the ticket id, such as T-1"`
}

type commentArgs struct {
	ID   string `json:"id" jsonschema:"the ticket id, such as T-1"`
	Text string `json:"text" jsonschema:"the comment"`
}

// get returns a ticket and its comments.
func (t *tickets) get(_ context.Context, _ *mcp.CallToolRequest, a getArgs) (*mcp.CallToolResult, any, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	subject, ok := t.subjects[a.ID]
	if !ok {
		return nil, nil, fmt.Errorf("no ticket %q", a.ID)
	}
	b, _ := json.Marshal(map[string]any{"id": a.ID, "subject": subject, "comments": t.comments[a.ID]})
	return text(string(b)), nil, nil
}

// comment adds a comment signed with the calling client (and the principal
// it acts for, for a delegated token).
func (t *tickets) comment(ctx context.Context, _ *mcp.CallToolRequest, a commentArgs) (*mcp.CallToolResult, any, error) {
	if a.Text == "" {
		return nil, nil, errors.New("text must not be empty")
	}
	author := "unknown"
	if c, ok := rs.FromContext(ctx); ok {
		author = c.ClientID
		if c.Actor != nil {
			author = c.Actor.Subject + " for " + c.Subject
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.subjects[a.ID]; !ok {
		return nil, nil, fmt.Errorf("no ticket %q", a.ID)
	}
	t.comments[a.ID] = append(t.comments[a.ID], author+": "+a.Text)
	return text("comment added"), nil, nil
}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

// escalate marks a ticket as escalated. Vigil's example policy asks for a
// fresh proof (step-up) the first time a session escalates.
func (t *tickets) escalate(_ context.Context, _ *mcp.CallToolRequest, a getArgs) (*mcp.CallToolResult, any, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.subjects[a.ID]; !ok {
		return nil, nil, fmt.Errorf("no ticket %q", a.ID)
	}
	t.comments[a.ID] = append(t.comments[a.ID], "escalated to on-call")
	return text("ticket escalated"), nil, nil
}

// remove deletes a ticket. Vigil's example policy denies it to agents.
func (t *tickets) remove(_ context.Context, _ *mcp.CallToolRequest, a getArgs) (*mcp.CallToolResult, any, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.subjects[a.ID]; !ok {
		return nil, nil, fmt.Errorf("no ticket %q", a.ID)
	}
	delete(t.subjects, a.ID)
	delete(t.comments, a.ID)
	return text("ticket deleted"), nil, nil
}

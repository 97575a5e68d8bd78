package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

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

type ticketArgs struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

func parseArgs(raw json.RawMessage) (ticketArgs, error) {
	var a ticketArgs
	if err := json.Unmarshal(raw, &a); err != nil || a.ID == "" {
		return a, errors.New("arguments must be an object with an id")
	}
	return a, nil
}

// get returns a ticket and its comments.
func (t *tickets) get(_ rs.Claims, raw json.RawMessage) (string, error) {
	a, err := parseArgs(raw)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	subject, ok := t.subjects[a.ID]
	if !ok {
		return "", fmt.Errorf("no ticket %q", a.ID)
	}
	b, _ := json.Marshal(map[string]any{"id": a.ID, "subject": subject, "comments": t.comments[a.ID]})
	return string(b), nil
}

// comment adds a comment signed with the calling client (and its actor,
// for a delegated token).
func (t *tickets) comment(c rs.Claims, raw json.RawMessage) (string, error) {
	a, err := parseArgs(raw)
	if err != nil || a.Text == "" {
		return "", errors.New("arguments must be an object with an id and a text")
	}
	author := c.ClientID
	if c.Actor != nil {
		author = c.Actor.Subject + " for " + c.Subject
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.subjects[a.ID]; !ok {
		return "", fmt.Errorf("no ticket %q", a.ID)
	}
	t.comments[a.ID] = append(t.comments[a.ID], author+": "+a.Text)
	return "comment added", nil
}

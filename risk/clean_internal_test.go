package risk

import "testing"

// TestCleanChallenges checks which sessions with challenges teach the
// baseline: those whose every challenge the client met was passed, and
// those whose only open challenge an introspection opened and the client
// never met, judged then by their peak; never one whose client met a
// challenge and left it unanswered, whatever its peak.
func TestCleanChallenges(t *testing.T) {
	e, err := New(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	low := uint8(e.p.Baseline.CleanBelow - 6)
	high := uint8(e.p.Baseline.CleanBelow + 10)
	tests := []struct {
		name string
		s    session
		want bool
	}{
		{"no challenge, low peak", session{peak: low}, true},
		{"no challenge, high peak", session{peak: high}, false},
		{"one met and passed, high peak", session{challenges: 1, verified: true, peak: high}, true},
		{"one met, left unanswered, low peak", session{challenges: 1, pending: true, peak: low}, false},
		{"one passed, a second met and left unanswered, low peak", session{challenges: 2, verified: true, pending: true, peak: low}, false},
		{"one passed, then a failure", session{challenges: 2, verified: true, failed: 1, peak: low}, false},
		{"only an unseen one open, low peak", session{challenges: 1, pending: true, unseen: true, peak: low}, true},
		{"only an unseen one open, high peak", session{challenges: 1, pending: true, unseen: true, peak: high}, false},
		{"one passed, then an unseen one open, low peak", session{challenges: 2, verified: true, pending: true, unseen: true, peak: low}, true},
		{"one unanswered before an unseen one, low peak", session{challenges: 2, pending: true, unseen: true, peak: low}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.id = "s"
			if got := e.clean(&tt.s); got != tt.want {
				t.Errorf("clean = %v, want %v", got, tt.want)
			}
		})
	}
}

package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"},
		{Key: "vcs.time", Value: "2026-03-17T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name             string
		bi               *debug.BuildInfo
		stamped, date    string
		version, buildAt string
		commit           string
		modified         bool
	}{
		{"no build info", nil, "", "", "dev", "", "", false},
		{"devel build from a checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "", "", "dev", "", "0123456789abcdef0123", true},
		{"go install of a tagged module", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "", "", "v1.4.0", "", "", false},
		{"release build stamps version and date", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "v2.0.0", "2026-04-01T00:00:00Z", "v2.0.0", "2026-04-01T00:00:00Z", "0123456789abcdef0123", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fromBuildInfo(tt.bi, tt.stamped, tt.date)
			if in.Version != tt.version || in.BuildTime != tt.buildAt || in.Commit != tt.commit || in.Modified != tt.modified {
				t.Fatalf("got %+v", in)
			}
			if in.GoVersion == "" || in.Platform == "" {
				t.Fatalf("go version or platform missing: %+v", in)
			}
		})
	}
	if got := fromBuildInfo(&debug.BuildInfo{Settings: vcs}, "", "").ShortCommit(); got != "0123456789ab" {
		t.Fatalf("ShortCommit = %q", got)
	}
}

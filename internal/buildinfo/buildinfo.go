// Package buildinfo says which build of Vigil is running: its version, the
// commit it was built from and when, read from the Go build information
// (runtime/debug.ReadBuildInfo) and from values a release build stamps in
// with -ldflags.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Values a release build sets with
// -ldflags "-X github.com/vigil-auth/vigil/internal/buildinfo.version=v1.2.3
// -X github.com/vigil-auth/vigil/internal/buildinfo.date=2026-01-02T03:04:05Z".
// and commit (-X ...buildinfo.commit=SHA, for builds where the Go
// toolchain cannot read the VCS). Unset, the module version and the build
// information's VCS settings stand in.
var (
	version string
	date    string
	commit  string
)

// Info describes one build.
type Info struct {
	// Version is the release version (v1.2.3), the module version when
	// built with go install, or "dev".
	Version string `json:"version"`
	// Commit is the VCS revision, "" when unknown.
	Commit string `json:"commit,omitempty"`
	// Modified reports uncommitted changes in the built tree.
	Modified bool `json:"modified,omitempty"`
	// CommitTime is the commit's time (RFC 3339), "" when unknown.
	CommitTime string `json:"commit_time,omitempty"`
	// BuildTime is when a release build was made (RFC 3339), "" for
	// ordinary builds.
	BuildTime string `json:"build_time,omitempty"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"go_version"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Read returns the running binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	in := fromBuildInfo(bi, version, date)
	if in.Commit == "" {
		in.Commit = commit
	}
	return in
}

func fromBuildInfo(bi *debug.BuildInfo, stampedVersion, stampedDate string) Info {
	in := Info{Version: stampedVersion, BuildTime: stampedDate, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		if in.Version == "" {
			in.Version = "dev"
		}
		return in
	}
	if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		in.Version = bi.Main.Version
	}
	if in.Version == "" {
		in.Version = "dev"
	}
	if bi.GoVersion != "" {
		in.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Commit = s.Value
		case "vcs.time":
			in.CommitTime = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// ShortCommit is the first 12 characters of the commit, "" when unknown.
func (in Info) ShortCommit() string {
	if len(in.Commit) > 12 {
		return in.Commit[:12]
	}
	return in.Commit
}

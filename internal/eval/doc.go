// Package eval generates seeded populations of non-human clients and judges
// the risk engine on them.
//
// Generate builds, from a seed, an organisation (tenants, networks,
// resources with tools, resource servers) and many clients of every kind
// (agents, services, workloads, scheduled jobs), each with a declared
// registration and weeks of benign history drawn from parametrised
// behaviour: schedules in time zones across daylight-saving changes, tool
// graphs, tenants, month-end peaks, backfills after outages, failovers to
// declared networks, replicas, new clients and resources, exploratory
// agents. For every client it writes one benign scenario (the sessions that
// follow its history, some with an unusual but legitimate twist) and one
// malicious scenario in which an attacker uses a parametrised tactic
// against it. Scenarios are written in the public scenario format (format
// v1, docs/SCENARIOS.md) and read back with replay.Parse, so the replay
// that judges any corpus judges these.
//
// Evaluate replays a population through the real request handlers
// (internal/replay) and reports attacks contained before their first
// harmful step succeeds, harmful steps allowed, time to contain, benign
// sessions with friction and friction per 1,000 benign calls; Curve repeats
// it over the policy's tolerance to trace detection against friction.
package eval

package eval

import "strconv"

// Vocabularies the generator draws names from. Resources, tools, scopes,
// tenants and clients are assembled from them at random, so no two seeds
// describe the same organisation.

// domain is a kind of resource an organisation runs: its tier (format v1
// sensitivity), the tactic calling it usually means, and the objects and
// verbs of its tools.
type domain struct {
	names   []string
	tier    int
	tactic  string
	objects []string
	reads   []string
	writes  []string
	deletes bool
	exports bool
	egress  bool // sends data out of the organisation
	paid    bool // each call costs money
}

var domains = []domain{
	{names: []string{"docs", "wiki", "kb", "handbook", "glossary", "help"}, tier: 1, tactic: "discovery",
		objects: []string{"page", "article", "entry"}, reads: []string{"get", "search", "list"}},
	{names: []string{"search", "catalog", "status", "calendar", "dictionary", "weather", "changelog"}, tier: 1,
		objects: []string{"item", "query", "event"}, reads: []string{"query", "lookup", "list", "get"}},
	{names: []string{"tickets", "tasks", "issues", "cases", "backlog"}, tier: 2,
		objects: []string{"ticket", "task", "comment"}, reads: []string{"get", "list", "search"},
		writes: []string{"update", "comment", "assign", "create"}, deletes: true},
	{names: []string{"inventory", "orders", "shipping", "metrics", "builds", "scheduler", "flags"}, tier: 2,
		objects: []string{"record", "item", "batch", "series"}, reads: []string{"get", "list", "query"},
		writes: []string{"upsert", "update", "create"}, deletes: true, exports: true},
	{names: []string{"crm", "billing", "ledger", "payroll", "hr", "invoices", "claims", "kyc", "contracts", "patients"}, tier: 3, tactic: "collection",
		objects: []string{"record", "account", "profile", "statement"}, reads: []string{"get", "list", "search", "read"},
		writes: []string{"update", "annotate"}, deletes: true, exports: true},
	{names: []string{"source", "repos", "artifacts", "models"}, tier: 3, tactic: "collection",
		objects: []string{"file", "blob", "archive"}, reads: []string{"read", "list", "diff"}, writes: []string{"push", "tag"}, exports: true},
	{names: []string{"vault", "kms", "secrets", "certs"}, tier: 4, tactic: "credential_access",
		objects: []string{"secret", "key", "cert"}, reads: []string{"read", "list", "describe"}, writes: []string{"rotate"}},
	{names: []string{"iam", "sso-admin", "admin", "directory"}, tier: 4, tactic: "persistence",
		objects: []string{"user", "role", "binding"}, reads: []string{"list", "get"}, writes: []string{"grant", "create"}, deletes: true},
	{names: []string{"mail-relay", "webhook", "sftp-drop", "share", "chat-notify", "object-export"}, tier: 2, tactic: "exfiltration",
		objects: []string{"message", "file", "post"}, reads: []string{"status"}, writes: []string{"send", "upload", "post"}, egress: true},
	{names: []string{"llm-gateway", "geocoder", "translate", "ocr", "sms", "enrich"}, tier: 1,
		objects: []string{"request", "job"}, reads: []string{"invoke", "complete", "lookup"}, paid: true},
}

var (
	audSuffixes = []string{"api", "svc", "gw", "hub", "core", "v2", "service"}
	regions     = []string{"eu", "us", "ap", "west", "east", "central", "north", "emea"}
	syllables   = []string{"ka", "lo", "mi", "ren", "tor", "vel", "an", "bri", "dus", "el", "fa", "gor", "hal", "is",
		"jun", "kel", "lum", "mor", "nis", "ost", "par", "qui", "ros", "sil", "tam", "ur", "vex", "wen", "yar", "zo"}
	tenantSuffixes = []string{"", "-co", "-labs", "-health", "-retail", "-bank", "-gmbh", "-inc", "-group", "-ag"}
	purposes       = []string{"triage", "support", "research", "ops", "release", "billing", "onboarding", "sales",
		"compliance", "migration", "reporting", "sync", "audit", "forecast", "routing", "intake", "review"}
	roles = []string{"sync", "worker", "indexer", "exporter", "reconciler", "ingest", "notifier", "gateway",
		"collector", "scanner", "builder", "mailer", "aggregator", "replicator"}
	zones = []string{"UTC", "Europe/Berlin", "Europe/London", "America/New_York", "America/Chicago",
		"America/Los_Angeles", "Australia/Sydney", "Asia/Tokyo", "Asia/Kolkata", "America/Sao_Paulo", "Europe/Paris",
		"Pacific/Auckland", "America/Denver", "Europe/Madrid"}
	// foreign holds first octets of public networks an attacker may come from.
	foreign = []int{23, 31, 37, 45, 62, 77, 85, 91, 103, 141, 146, 176, 185, 193, 194, 195, 212, 217}
)

func itoa(n int) string { return strconv.Itoa(n) }

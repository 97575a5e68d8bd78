-- +goose Up
-- Times are bigint nanoseconds since the Unix epoch: timestamptz keeps only
-- microseconds. Keys compare bytewise (COLLATE "C"), as Go strings do.
-- Each record is its JSON document in doc; the other columns index it.
CREATE TABLE clients (id text COLLATE "C" PRIMARY KEY, doc bytea NOT NULL);
CREATE TABLE resources (audience text COLLATE "C" PRIMARY KEY, doc bytea NOT NULL);
CREATE TABLE issuers (issuer text COLLATE "C" PRIMARY KEY, doc bytea NOT NULL);
CREATE TABLE sessions (
	id text COLLATE "C" PRIMARY KEY,
	client_id text COLLATE "C" NOT NULL,
	status text NOT NULL,
	created_ns bigint NOT NULL,
	expires_ns bigint NOT NULL,
	event_seq bigint NOT NULL DEFAULT 0,
	doc bytea NOT NULL
);
CREATE INDEX sessions_created ON sessions (created_ns DESC, id DESC);
CREATE INDEX sessions_client ON sessions (client_id, created_ns DESC);
CREATE INDEX sessions_expires ON sessions (expires_ns);
CREATE TABLE tokens (
	id text COLLATE "C" PRIMARY KEY,
	session_id text COLLATE "C" NOT NULL,
	issued_ns bigint NOT NULL,
	expires_ns bigint NOT NULL,
	doc bytea NOT NULL
);
CREATE INDEX tokens_session ON tokens (session_id, issued_ns, id);
CREATE INDEX tokens_expires ON tokens (expires_ns);
CREATE TABLE events (
	session_id text COLLATE "C" NOT NULL,
	seq bigint NOT NULL,
	doc bytea NOT NULL,
	PRIMARY KEY (session_id, seq)
);
CREATE TABLE audit (
	seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at_ns bigint NOT NULL,
	client_id text COLLATE "C" NOT NULL,
	session_id text COLLATE "C" NOT NULL,
	doc bytea NOT NULL
);
CREATE INDEX audit_client ON audit (client_id, seq);
CREATE INDEX audit_session ON audit (session_id, seq);
CREATE TABLE used_jti (key text COLLATE "C" PRIMARY KEY, exp_ns bigint NOT NULL);
CREATE INDEX used_jti_exp ON used_jti (exp_ns);
CREATE TABLE signing_keys (id text COLLATE "C" PRIMARY KEY, created_ns bigint NOT NULL, doc bytea NOT NULL);
CREATE TABLE initial_tokens (id text COLLATE "C" PRIMARY KEY, doc bytea NOT NULL);
CREATE TABLE registrations (client_id text COLLATE "C" PRIMARY KEY, doc bytea NOT NULL);
CREATE TABLE streams (id text COLLATE "C" PRIMARY KEY, doc bytea NOT NULL);
CREATE SEQUENCE outbox_seq;
CREATE TABLE outbox (
	stream_id text COLLATE "C" NOT NULL,
	seq bigint NOT NULL,
	expires_ns bigint,
	doc bytea NOT NULL,
	PRIMARY KEY (stream_id, seq)
);
-- The change feed: one row per change that alters an answer on another
-- instance, written in the changing transaction. Pruned after an hour.
CREATE TABLE changes (
	seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	kind text NOT NULL,
	key text NOT NULL
);
-- Live instances and their heartbeats.
CREATE TABLE members (id text PRIMARY KEY, addr text NOT NULL, heartbeat timestamptz NOT NULL);
-- Learned risk baselines, shared by every instance.
CREATE TABLE risk_state (name text PRIMARY KEY, doc bytea NOT NULL, updated timestamptz NOT NULL DEFAULT now());
-- Cluster-wide settings, such as the stored admin credential's hash.
CREATE TABLE cluster (name text PRIMARY KEY, value text NOT NULL);

-- +goose Down
DROP TABLE cluster, risk_state, members, changes, outbox, streams, registrations, initial_tokens,
	signing_keys, used_jti, audit, events, tokens, sessions, issuers, resources, clients;
DROP SEQUENCE outbox_seq;

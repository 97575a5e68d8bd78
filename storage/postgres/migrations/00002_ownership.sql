-- +goose Up
-- What the risk engine learned about each client (baseline and recent
-- memory), written by the instance that owns the client.
CREATE TABLE risk_clients (
	client_id text COLLATE "C" PRIMARY KEY,
	doc bytea NOT NULL,
	updated timestamptz NOT NULL DEFAULT now()
);
-- Periodic jobs one instance at a time: a row per job, held until expires.
CREATE TABLE leases (
	name text PRIMARY KEY,
	holder text NOT NULL,
	expires timestamptz NOT NULL
);

-- +goose Down
DROP TABLE leases, risk_clients;

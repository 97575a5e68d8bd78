# Vigil: an OAuth 2.0 authorization server that keeps judging the session.
SHELL := /bin/bash
# `make help` lists the targets.

GO        ?= go
BIN       ?= bin/vigil
CONFIG    ?= examples/vigil.yaml
FUZZTIME  ?= 30s
FUZZPKGS  ?= ./...
CYCLES    ?= 20
BENCHTIME ?= 15s
BENCH_OUT ?= bin/bench
SESSIONS  ?= 1000000

# go.mod names the toolchain Vigil is built and checked with; fetch it when
# the installed Go is older.
export GOTOOLCHAIN ?= auto

.DEFAULT_GOAL := help

##@ Run

.PHONY: run
run: build ## Start the server with the example configuration (examples/vigil.yaml)
	$(BIN) serve --config $(CONFIG)

.PHONY: build
build: ## Build bin/vigil
	$(GO) build -trimpath -o $(BIN) ./cmd/vigil

##@ Test

.PHONY: test
test: vet tidy-check ## Vet, check go.mod is tidy, run every test with the race detector, and check for known vulnerabilities
	$(GO) test -race -shuffle=on -count=1 ./...
	@$(MAKE) --no-print-directory vulncheck

.PHONY: test-short
test-short: ## Run the tests without the race detector
	$(GO) test -count=1 ./...

.PHONY: vet
vet: ## go vet and a formatting check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: conformance
conformance: ## Run the protocol suite (in-process, or against VIGIL_CONFORMANCE_URL) and print a per-requirement summary
	@$(GO) test -count=1 -v ./conformance/protocol/ 2>&1 | tee /tmp/vigil-conformance.out | grep -E '^(=== RUN|--- (PASS|FAIL|SKIP)|FAIL|ok|PASS)' | grep -v '^=== RUN' ; \
	status=$${PIPESTATUS[0]}; \
	pass=$$(grep -c -- '^--- PASS' /tmp/vigil-conformance.out); fail=$$(grep -c -- '^--- FAIL' /tmp/vigil-conformance.out); skip=$$(grep -c -- '^--- SKIP' /tmp/vigil-conformance.out); \
	echo "conformance: $$pass passed, $$fail failed, $$skip skipped"; exit $$status

.PHONY: console-e2e
console-e2e: ## Run the admin console's tests in headless Chromium (installs chromium, node and npm in CI); screenshots in bin/console-artifacts
	conformance/console/run.sh

.PHONY: examples
examples: ## Vet and test the examples (their own Go module: the MCP tool server, the MCP agent, the Go SDK interop tests)
	cd examples && $(GO) vet ./... && $(GO) test -race -count=1 ./...

.PHONY: interop-mcp
interop-mcp: ## Run the MCP interop suites (official Go and TypeScript SDKs) against separately started servers
	conformance/interop/mcp/run.sh

.PHONY: vulncheck
vulncheck: ## Report known vulnerabilities reachable from Vigil (govulncheck, pinned vulndb snapshot)
	@scripts/vulncheck.sh

.PHONY: fuzz
fuzz: ## Run every fuzz target in FUZZPKGS (default all) for FUZZTIME each (default 30s)
	@n=0; for pkg in $$($(GO) list $(FUZZPKGS)); do \
		targets=$$($(GO) test -list '^Fuzz' $$pkg) || { echo "fuzz: cannot build the tests of $$pkg"; exit 1; }; \
		for f in $$(echo "$$targets" | grep '^Fuzz'); do \
			echo "== fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; n=$$((n+1)); \
		done; \
	done; echo "fuzz: $$n target(s), $(FUZZTIME) each, no failures"

.PHONY: crash
crash: ## Kill -9 the built server CYCLES times (default 20) under a mixed workload, checking every acknowledged operation
	VIGIL_CRASH_CYCLES=$(CYCLES) $(GO) test -count=1 -timeout 0 -v -run '^TestCrashLoop$$' ./conformance/crash/

.PHONY: cluster-test
cluster-test: ## Three vigil serve on one fresh PostgreSQL database under load: revocation, refresh races, facts, kill -9, database restart (prints every count)
	@test -n "$$VIGIL_TEST_POSTGRES" || export VIGIL_TEST_POSTGRES="$$(scripts/postgres-up.sh)"; \
	VIGIL_CLUSTER_TEST=1 $(GO) test -count=1 -timeout 30m -v -run '^TestCluster$$' ./conformance/cluster/ 2>&1 | tee /tmp/vigil-cluster.out | grep -E '^(cluster:|--- |FAIL|ok|PASS)'; \
	exit $${PIPESTATUS[0]}

.PHONY: cover
cover: ## Test with coverage and print the total
	$(GO) test -coverprofile=/tmp/vigil-cover.out ./... >/dev/null
	$(GO) tool cover -func=/tmp/vigil-cover.out | tail -1

##@ Benchmark

.PHONY: bench
bench: build ## Load-test a fresh server next to a trivial net/http ceiling, BENCHTIME per scenario; writes BENCH_OUT.txt and .json
	$(BIN) bench --spawn --duration $(BENCHTIME) --out $(BENCH_OUT)

.PHONY: bench-scale
bench-scale: build ## Open SESSIONS sessions on a fresh server (default 1000000), read its memory, restart it and time its return
	$(BIN) bench scale --sessions $(SESSIONS) --out $(BENCH_OUT)-scale

##@ Maintain

.PHONY: fmt
fmt: ## Format the code
	gofmt -w $$(git ls-files '*.go')

.PHONY: tidy
tidy: ## Tidy go.mod and go.sum (Vigil's and the examples module's)
	$(GO) mod tidy
	cd examples && $(GO) mod tidy

.PHONY: tidy-check
tidy-check: ## Fail if go.mod or go.sum is not tidy (direct and indirect requirements as go mod tidy writes them)
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run make tidy"; exit 1; }
	@cd examples && $(GO) mod tidy -diff || { echo "examples/go.mod/go.sum are not tidy (Vigil's requirements changed?): run make tidy"; exit 1; }

.PHONY: release-snapshot
release-snapshot: ## Build every release artefact into dist/ without publishing (goreleaser, pinned; no docker needed)
	@command -v goreleaser >/dev/null || $(GO) install github.com/goreleaser/goreleaser/v2@v2.12.7
	@command -v cyclonedx-gomod >/dev/null || $(GO) install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.9.0
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" goreleaser release --snapshot --clean

.PHONY: package
package: ## Build the linux/amd64 .deb and .rpm, install the .deb into a scratch root, run vigil version, verify the unit
	scripts/package-check.sh

.PHONY: docs
docs: ## Regenerate docs/CONFIG.md from the code
	$(GO) test -count=1 -run '^TestReferenceCurrent$$' ./internal/config/ -update

.PHONY: clean
clean: ## Remove build output
	rm -rf bin

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*##"} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z_-]+:.*##/ {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# dtle: a Nomad task-driver plugin that moves MySQL/MariaDB data.
# `make help` lists the targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VERSION        ?= 0.1.0-dev+$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILD_DIR      := .build
CACHE_DIR      := .cache
PLUGIN_DIR     := $(BUILD_DIR)/plugins
PLUGIN         := $(PLUGIN_DIR)/dtle
NOMAD          := $(CACHE_DIR)/bin/nomad
GOLANGCI_LINT  := $(CACHE_DIR)/bin/golangci-lint
SWAG           := $(CACHE_DIR)/bin/swag

# Pinned tool versions. Nomad's is pinned in tools/nomad/go.mod.
GOLANGCI_LINT_VERSION := v2.15.0
SWAG_VERSION          := v1.16.6
SWAG_FLAGS            := --dir api --generalInfo server.go --packageName docs --output docs --outputTypes go,json,yaml --quiet

export CGO_ENABLED := 1
export DTLE_NOMAD_BIN := $(abspath $(NOMAD))
export DTLE_PLUGIN_DIR := $(abspath $(PLUGIN_DIR))

GO_TEST_FLAGS ?= -count=1 -timeout 25m

.PHONY: help
help: ## Show this help.
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build the dtle plugin into .build/plugins/dtle.
	go build -trimpath -ldflags "-X github.com/dtle-io/dtle/driver.Version=$(VERSION)" -o $(PLUGIN) ./cmd/dtle

.PHONY: nomad
nomad: $(NOMAD) ## Build the pinned Nomad agent into .cache/bin (reused when present).

$(NOMAD): tools/nomad/go.mod
	cd tools/nomad && GOFLAGS=-mod=mod go build -o $(abspath $(NOMAD)) github.com/hashicorp/nomad
	@touch $(NOMAD)

.PHONY: mariadb
mariadb: ## Install Debian's mariadb-server when it is missing.
	@if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then \
		echo "installing mariadb-server"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server mariadb-client >/dev/null; \
	fi

.PHONY: demo
demo: mariadb build nomad ## Run the demo: a dev Nomad agent, two MariaDB servers and a dtle job.
	go run ./cmd/dtle-demo

.PHONY: test
test: mariadb chromium build nomad lint ## Provision everything and run every test, then each fuzz target briefly.
	@status=0; go test $(GO_TEST_FLAGS) ./... || status=$$?; $(MAKE) --no-print-directory sweep; \
		[ $$status -ne 0 ] || $(MAKE) --no-print-directory fuzz || status=$$?; exit $$status

# test-faults runs the fault-injection tests of the two-node cluster
# (internal/cluster) with more kill -9 cycles than `make test` does (2).
FAULT_CYCLES ?= 50
.PHONY: test-faults
test-faults: mariadb build nomad ## Faults on a 3-agent Nomad cluster: FAULT_CYCLES (default 50) random kill -9 cycles, database restarts, a cut NATS link; prints the tally.
	DTLE_FAULT_CYCLES=$(FAULT_CYCLES) go test -count=1 -timeout 90m -v -run '^(TestKillCycles|TestFaultsEndIdentical)$$' ./internal/cluster

# Every decoder of outside input has a fuzz target: API bodies, task
# configs, replication rules and row filters, DDL routing, GTID sets, server
# versions, the NATS wire format. Inputs that failed once stay in each
# package's testdata/fuzz and run with every go test.
FUZZTIME ?= 3s
FUZZ_TARGETS = ./api:FuzzJobConfig ./api:FuzzJobParamV4 ./internal/config:FuzzTask ./internal/filter:FuzzWhere ./extractor:FuzzRouteDDL \
	./internal/change:FuzzDecode ./internal/change:FuzzParseMariaDBGTIDSet ./internal/change:FuzzParseMySQLGTIDSet \
	./internal/mysqlconn:FuzzParseVersion

# fuzz-corpus keeps what the fuzzers found (Go's cache) in each package's
# testdata/fuzz, so every go test replays it.
.PHONY: fuzz-corpus
fuzz-corpus: ## Copy the inputs the fuzz targets found from Go's cache into testdata/fuzz.
	@cache=$$(go env GOCACHE)/fuzz/$$(go list -m); for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		src=$$cache/$${pkg#./}/$$name; [ -d $$src ] || continue; \
		mkdir -p $$pkg/testdata/fuzz/$$name && cp -n $$src/* $$pkg/testdata/fuzz/$$name/; \
		echo "$$pkg/testdata/fuzz/$$name: $$(ls $$pkg/testdata/fuzz/$$name | wc -l) inputs"; \
	done

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 3s; FUZZTIME=5m for a long run).
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
		for try in 1 2; do \
			out=$$(go test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg 2>&1) && { echo "$$out" | tail -1; break; }; \
			echo "$$out"; \
			if echo "$$out" | grep -q 'Failing input written' || [ $$try = 2 ]; then exit 1; fi; \
			echo "the fuzzing engine stopped without a failing input (Go's fuzzer can time out stopping its workers on a busy machine): once more"; \
		done; \
	done

# Test servers die with the test process; this catches any that a killed
# run left behind, with the tmpfs mounts Nomad makes for task secrets.
.PHONY: sweep
sweep:
	@pkill -9 -f 'dtle-(sandbox|e2e-agent)-' 2>/dev/null || true
	@for m in $$(awk '$$2 ~ /\/dtle-e2e-agent-/ {print $$2}' /proc/self/mounts | sort -r); do umount -l "$$m"; done
	@rm -rf "$${TMPDIR:-/tmp}"/dtle-sandbox-* "$${TMPDIR:-/tmp}"/dtle-e2e-agent-* 2>/dev/null || true

.PHONY: bench
bench: mariadb build nomad ## Benchmarks: Go micro benchmarks, then dtle vs mydumper/myloader, mysqldump, a native replica and pt-table-checksum (writes bench/README.md).
	@command -v mydumper >/dev/null && command -v sysbench >/dev/null && command -v pt-table-checksum >/dev/null || \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mydumper sysbench percona-toolkit >/dev/null
	go test -run '^$$' -bench . -benchmem ./internal/change/ ./applier/ ./kafka/
	go run ./bench $(BENCH_FLAGS)

.PHONY: fmt-check
fmt-check: ## Fail when a file is not gofmt-clean.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-clean:"; echo "$$out"; exit 1; fi

.PHONY: generate
generate: $(SWAG) ## Regenerate the swagger spec in docs/ from the api/ annotations.
	$(SWAG) fmt --dir api
	$(SWAG) init $(SWAG_FLAGS)

# docs-check fails when docs/ is not what the annotations generate.
.PHONY: docs-check
docs-check: $(SWAG)
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	$(SWAG) init $(subst --output docs,--output $$tmp,$(SWAG_FLAGS)) >/dev/null && \
	for f in docs.go swagger.json swagger.yaml; do \
		cmp -s $$tmp/$$f docs/$$f || { echo "docs/$$f is stale: run make generate"; exit 1; }; \
	done

$(SWAG):
	GOBIN=$(abspath $(CACHE_DIR)/bin) go install github.com/swaggo/swag/cmd/swag@$(SWAG_VERSION)

.PHONY: chromium
chromium: ## Install Debian's chromium (the swagger page test renders in it) when it is missing.
	@if ! command -v chromium >/dev/null; then \
		echo "installing chromium"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; \
	fi

.PHONY: lint
lint: fmt-check docs-check $(GOLANGCI_LINT) ## gofmt, stale swagger docs, go vet and golangci-lint.
	go vet ./...
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	GOBIN=$(abspath $(CACHE_DIR)/bin) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

.PHONY: verify
verify: test ## Everything CI checks.

.PHONY: clean
clean: ## Remove build output (keeps the cached Nomad and linter).
	rm -rf $(BUILD_DIR)

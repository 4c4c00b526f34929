# boxoffice: build, local run and CI entry points. `make` alone lists the targets.
#
# Everything the processes read from the environment (GATEWAY_PORT, TX_MODE, SEED, DB_URL,
# REDIS_URL, AMQP_URL, ... see lib/config.ts) passes straight through, either way:
#   SEED=demo TX_MODE=xa make up        make up SEED=demo TX_MODE=xa
# The Makefile defines none of those names, so it never overrides them.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# Prerequisites run one after another, left to right: `test` is a sequence, and fails fast.
.NOTPARALLEL:
MAKEFLAGS += --no-builtin-rules --no-builtin-variables

# Stamps: a target is redone only when what it is made from changed. The install stamp lives in
# node_modules/, so deleting node_modules also forgets it; likewise gen/ and dist/.
INSTALL_STAMP := node_modules/.boxoffice-installed
GEN_STAMP := gen/.boxoffice-generated
BUILD_STAMP := dist/.boxoffice-built

# Folders are listed too (as dir/., never clashing with a target such as `test`): adding or
# removing a file changes its folder's time.
sources = $(shell find $(1) -path bench/results -prune -o -type d -printf '%p/.\n' -o -name '$(2)' -print \
	2>/dev/null)
GEN_INPUTS := $(call sources,proto,*.proto) buf.yaml buf.gen.yaml scripts/gen.sh
# The folders tsc compiles: tsconfig.json's "include" (gen/ has its own stamp).
TS_DIRS := $(filter-out gen,$(or \
	$(shell node -p "require('./tsconfig.json').include.join(' ')" 2>/dev/null), \
	lib services coordinator gateway cmd test bench))
# The operator console (its own tsconfig, browser code) is built into dist/console too.
BUILD_INPUTS := $(call sources,$(TS_DIRS),*.ts) tsconfig.json $(call sources,console,*)

.PHONY: help install browser gen build infra infra-status infra-stop migrate up lint \
	test test-unit test-int test-e2e clean

help: ## List the targets (the default)
	@echo 'boxoffice: make <target>'
	@echo
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z0-9-]*:.*## / { printf "  %-13s %s\n", $$1, $$2 }' \
		$(MAKEFILE_LIST)
	@echo
	@echo 'Environment passes through to every process (see lib/config.ts), e.g.'
	@echo '  SEED=demo TX_MODE=xa GATEWAY_PORT=8080 make up'
	@echo 'Servers: DB_URL, REDIS_URL, AMQP_URL; INFRA_DIR (default .run/) holds private instances.'

# ------------------------------------------------------------------------------------ build

install: $(BUILD_STAMP) browser ## npm ci from the lockfile (only if node_modules is missing or older), gen, build, Chromium

# The operator console's browser test (test/e2e/console.test.ts) drives Debian's Chromium; the
# test fails, naming this target, where it is missing.
browser: ## Install Debian's chromium (apt) if /usr/bin/chromium is missing
	bash scripts/infra.sh browser

# npm writes node_modules/.package-lock.json at the end of every install: when it is newer than
# package-lock.json, node_modules already matches the lockfile and only the stamp is missing.
# `npm ci`: exactly what the lockfile lists, or an error. The lockfile lists buf's optional
# package of every platform (the registry once lacked them, and `npm ci` refused the lockfile).
# The Dockerfile runs the same command with the same flags, so the image holds what this
# installs. --ignore-scripts: no dependency needs its install script (docs/platform.md).
$(INSTALL_STAMP): package-lock.json
	@if [[ node_modules/.package-lock.json -nt package-lock.json ]]; then \
		echo '[install] node_modules is newer than package-lock.json: nothing to install'; \
	else \
		echo '[install] npm ci (node_modules missing or older than package-lock.json)'; \
		echo 'npm ci --no-audit --no-fund --ignore-scripts'; \
		npm ci --no-audit --no-fund --ignore-scripts; \
	fi
	@touch $@

# gen.sh starts with rm -rf gen, so the stamp is written after it, inside gen/.
define run_gen
	@echo '[gen] scripts/gen.sh'
	bash scripts/gen.sh
	@touch $(GEN_STAMP)
endef

define run_build
	@echo '[build] npm run build'
	npm run build
	@touch $(BUILD_STAMP)
endef

$(GEN_STAMP): $(INSTALL_STAMP) $(GEN_INPUTS)
	$(run_gen)

$(BUILD_STAMP): $(GEN_STAMP) $(BUILD_INPUTS)
	$(run_build)

gen: $(INSTALL_STAMP) ## Generate gen/ from proto/ (scripts/gen.sh), always
	$(run_gen)

build: $(GEN_STAMP) ## Compile to dist/ (npm run build), always; generates gen/ first if missing
	$(run_build)

# -------------------------------------------------------------------------------- run it

infra: ## Make sure MariaDB, Redis and RabbitMQ answer; start private instances if not
	bash scripts/infra.sh up

infra-status: ## Report whether MariaDB, Redis and RabbitMQ answer
	bash scripts/infra.sh status

infra-stop: ## Stop the private instances `make infra` started (never a server it did not start)
	bash scripts/infra.sh stop

migrate: install infra ## Create each service's database and apply its migrations
	node dist/cmd/migrate.js

up: install infra migrate ## Install, start servers, migrate, then run the whole mesh in the foreground
	@echo "[up] node dist/cmd/mesh.js: SERVICES=$${SERVICES:-all} TX_MODE=$${TX_MODE:-saga}" \
		"MESH_PROCESSES=$${MESH_PROCESSES:-2} GATEWAY_PORT=$${GATEWAY_PORT:-8080}$${SEED:+ SEED=$$SEED} (Ctrl-C stops it)"
	MESH_PROCESSES=$${MESH_PROCESSES:-2} exec node dist/cmd/mesh.js

# ---------------------------------------------------------------------------------- checks

lint: $(GEN_STAMP) ## Layer check, eslint, prettier, buf lint
	node scripts/check-layers.mjs
	npm run lint

test-unit: $(GEN_STAMP) ## Every unit test, bench/ and scripts/ included (npm run test:unit)
	npm run test:unit

test-int: $(GEN_STAMP) infra ## Integration tests against MariaDB/Redis/RabbitMQ (npm run test:int)
	npm run test:int

test-e2e: $(BUILD_STAMP) infra ## End-to-end tests that start the real mesh, the console's in Chromium (npm run test:e2e)
	npm run test:e2e

.PHONY: k8s-validate kind-up kind-down

k8s-validate: $(INSTALL_STAMP) ## Render every deploy/k8s overlay offline; check schemas and project rules (self-test first)
	node scripts/k8s-validate.mjs --self-test
	node scripts/k8s-validate.mjs

# Everything CI runs (.ci/run), in order, stopping at the first failure; append new suites.
test: install infra lint test-unit test-int test-e2e bench-smoke chaos-smoke k8s-validate image-test ## Everything CI runs

clean: ## Remove dist/, gen/ and the stamps (not node_modules/, not .run/ data)
	rm -rf dist gen $(INSTALL_STAMP)

# ------------------------------------------------------------------------------ chaos
# Faults under load — kill -9, and slowness: branch calls held past their deadline, SIGSTOP,
# stalled MariaDB connections — with two coordinators, then the auditor over every database
# (docs/chaos.md). The full run is manual; chaos-smoke is the short one for make test: its four
# faults per mode are one of each kind. Extra options: CHAOS_ARGS='--seed 7 --modes xa'.

.PHONY: chaos chaos-smoke

CHAOS_ARGS ?=

chaos: $(BUILD_STAMP) infra ## Chaos: 50 faults per TX_MODE (kills and slowness), 2 coordinators, under load, then audit (manual, ~17 min)
	node dist/cmd/chaos.js --faults 50 $(CHAOS_ARGS)

chaos-smoke: $(BUILD_STAMP) infra ## Short chaos run (one fault of each kind per TX_MODE, fixed seed), so the full one cannot rot
	node dist/cmd/chaos.js --faults 4 --duration-per-fault 1500 --seed 20261121 $(CHAOS_ARGS)

# ------------------------------------------------------------------------------ bench
# Load through the gateway in each TX_MODE beside the monolith, raw-database and bare-HTTP
# baselines of the same run (docs/performance.md). The full run is manual; bench-smoke is the
# short one for make test: it fails on a correctness check, never on a number. (The bench's
# unit tests run in test-unit.)
# Extra options: BENCH_ARGS='--duration 30s --users 32' (node dist/bench/run.js --help).

.PHONY: bench bench-smoke

BENCH_ARGS ?=

bench: $(BUILD_STAMP) infra ## Benchmark: saga, xa and the baselines, 20 s a phase (manual, ~10 min) → bench/results/
	node dist/bench/run.js $(BENCH_ARGS)

bench-smoke: $(BUILD_STAMP) infra ## Every bench scenario for a moment (→ bench/results/tmp/)
	node dist/bench/run.js --smoke $(BENCH_ARGS)

# ------------------------------------------------------------------------------ image
# The Dockerfile built on this machine (no image registry: a debootstrapped base with this
# machine's node and npm) by a Docker daemon of its own under .run/, then the mesh run from it,
# one container per process, paying through its gateway in both TX_MODEs (docs/image.md).
# Needs root; installs docker.io and debootstrap with apt when missing. dist/ for the run's
# isolation helpers (ops/isolation.ts); the image builds its own.

.PHONY: image-test

image-test: $(BUILD_STAMP) infra ## Build the image here (own dockerd, local base image), run the mesh from it, pay in saga and xa
	bash scripts/image-test.sh

# ------------------------------------------------------------------------------ kind

# The kind cluster of deploy/kind/cluster.yaml running deploy/k8s/overlays/$(K8S_OVERLAY)
# (kind, kind-xa or kind-saga). Needs Docker, kind and kubectl; docs/kubernetes.md.
# The image keeps its tag (boxoffice:dev), so on a cluster that already runs the mesh kind-up
# restarts the boxoffice Deployments onto the image it just loaded.
KIND_CLUSTER ?= boxoffice
K8S_OVERLAY ?= kind
KIND_IMAGE := boxoffice:dev
KUBECTL_KIND = kubectl --context kind-$(KIND_CLUSTER) --namespace boxoffice
# The cluster's keys and passwords: random, made once per cluster by deploy/k8s/secrets.sh
# (openssl), never committed (.run/ is ignored), deleted with the cluster. Its MariaDB and
# RabbitMQ volumes keep the passwords they were created with, so they live and die together.
KIND_SECRETS := .run/kind-secrets/$(KIND_CLUSTER)

kind-up: ## Create the kind cluster, build + load the image, random secrets, apply K8S_OVERLAY, wait
	@for tool in docker kind kubectl; do command -v $$tool >/dev/null || \
		{ echo "kind-up: $$tool not found (needs Docker, kind and kubectl; see docs/kubernetes.md)" >&2; exit 1; }; done
	@clusters=$$(kind get clusters 2>/dev/null || true); \
	if grep -qx '$(KIND_CLUSTER)' <<<"$$clusters"; then \
		echo '[kind-up] cluster $(KIND_CLUSTER) exists'; \
		if [[ ! -d $(KIND_SECRETS) ]]; then \
			echo 'kind-up: $(KIND_SECRETS) is missing, and the databases of the cluster keep the' \
				'passwords they were created with: make kind-down, then make kind-up' >&2; exit 1; fi; \
	else \
		echo 'kind create cluster --name $(KIND_CLUSTER) --config deploy/kind/cluster.yaml'; \
		kind create cluster --name $(KIND_CLUSTER) --config deploy/kind/cluster.yaml; \
	fi
	bash deploy/k8s/secrets.sh generate $(KIND_SECRETS)
	docker build -t $(KIND_IMAGE) .
	kind load docker-image $(KIND_IMAGE) --name $(KIND_CLUSTER)
	@# The namespace first, then the Secrets, so no pod starts before what it mounts exists.
	kubectl --context kind-$(KIND_CLUSTER) apply -f deploy/k8s/base/namespace.yaml
	@echo 'deploy/k8s/secrets.sh manifests $(KIND_SECRETS) | kubectl apply --server-side -f -'
	@bash deploy/k8s/secrets.sh manifests $(KIND_SECRETS) | \
		kubectl --context kind-$(KIND_CLUSTER) apply --server-side --field-manager=boxoffice-secrets -f -
	@running=$$($(KUBECTL_KIND) get deployments -o name 2>/dev/null | wc -l || true); \
	echo 'kubectl apply -k deploy/k8s/overlays/$(K8S_OVERLAY)'; \
	kubectl --context kind-$(KIND_CLUSTER) apply -k deploy/k8s/overlays/$(K8S_OVERLAY); \
	if ((running > 0)); then \
		$(KUBECTL_KIND) rollout restart deployment \
			-l 'app.kubernetes.io/component in (grpc-service,coordinator,consumer,mock,gateway)'; \
	fi
	@for r in $$($(KUBECTL_KIND) get statefulsets,deployments -o name); do \
		echo "kubectl rollout status $$r"; $(KUBECTL_KIND) rollout status "$$r" --timeout=10m; done
	@echo '[kind-up] gateway: http://127.0.0.1:8080 (Swagger UI at /docs); Jaeger UI: http://127.0.0.1:16686'

kind-down: ## Delete the kind cluster (its volumes and its generated secrets go with it)
	kind delete cluster --name $(KIND_CLUSTER)
	rm -rf $(KIND_SECRETS)

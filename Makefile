# varmor-py: behaviour modeling for Kubernetes workloads.
PY := .venv/bin/python
STAMP := .venv/.installed
INSTALL_INPUTS := requirements.txt requirements-local.txt requirements-dev.txt scripts/install.sh scripts/apt-packages.txt $(wildcard scripts/install.d/*.sh)

.DEFAULT_GOAL := help
.PHONY: help install demo test unit lint bench manifests image clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): $(INSTALL_INPUTS)
	bash scripts/install.sh

install: $(STAMP) ## Install Debian packages, the virtualenv and BCC headers

demo: image ## Play the user guide on the local cluster (varmor-py installed from the chart, as pods)
	$(PY) app.py demo

lint: $(STAMP) ## ruff, mypy --strict and import-linter contracts
	$(PY) -m ruff check .
	$(PY) -m mypy
	.venv/bin/lint-imports

unit: $(STAMP) ## Run the test suite only
	$(PY) -m pytest -q

test: lint unit ## Install, lint and run every test

bench: $(STAMP) ## Run the benchmarks and rewrite bench/RESULTS.md
	$(PY) -m bench

image: $(STAMP) ## Build the varmor-py image (OCI archive, no daemon; cached)
	bash scripts/build-image.sh

manifests: $(STAMP) ## Render the Helm chart's defaults into manifests/varmor.yaml
	$(PY) -m localcluster.charts > manifests/varmor.yaml

clean: ## Remove the virtualenv and caches
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache .hypothesis

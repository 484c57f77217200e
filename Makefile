# nixl_efa.cluster: set-up and test gates.
#   make setup    .venv with everything pinned in requirements.txt (collections from the `ansible` bundle)
#   make lint     ruff + ansible-lint (production profile) + changelog fragments
#   make sanity   ansible-test sanity on a copy under ansible_collections/nixl_efa/cluster
#   make docs     render every module's, filter's, callback's and lookup's documentation with ansible-doc (fails on a broken doc)
#   make variables-doc  regenerate docs/variables.md from the roles' argument specs
#   make unit     pytest unit tests (pure logic and every module through botocore's Stubber)
#   make integration  ansible-playbook runs of the modules and playbooks against the lab's local AWS
#   make molecule every molecule scenario on Debian 12 systemd containers: default (the node roles on two nodes),
#                 code_server (the workstation, really serving through nginx), ray (a head and a worker running a task)
#   make test     lint, docs, sanity, unit, molecule, e2e and release-test on the default pair (CORE=2.19), then lint,
#                 sanity, unit, integration and release-test on the newest (CORE=2.21)
#   CORE=2.21     any gate on the newest ansible-core pair: the `ansible` 14 bundle (ansible-core 2.21) on Python 3.12,
#                 in .venv-2.21 from requirements-2.21.txt (default CORE=2.19: `ansible` 12 on Python 3.11, .venv)
#   make release-test  build the tarball, install it offline, reuse its roles from tests/consumer (lab AWS, a node
#                 container), argument-spec failures, a changelog fragment per change, make release on a clone
#   make release VERSION=x.y.z  bump galaxy.yml, CHANGELOG.rst from the fragments, build/ tarball checked to install
#   make e2e      the demo as a test: make demo twice (second run changed=0 for provision and configure), verify_efa.yml, teardown;
#                 the validation run's MLflow page checked in a headless Chromium (lab/browser.sh installs Debian's)
#   make bench    benchmarks on a lab of its own (BENCH_PORT, 5071): provision re-run, remote tasks over aws_ssm,
#                 API calls, NIXL vs memcpy; results in bench/results/ (see docs/PERFORMANCE.md)
#   make scale    configure + validate on 2 and 8 nodes, each count on a fresh lab of its own (SCALE_PORT, 5073),
#                 then again with LAB_SSM_COMMAND_LATENCY=0.3 (SCALE_ARGS="--nodes 2,8 --latency 0.3"; vLLM left out):
#                 wall ratio, remote tasks per host, fabric pairs, the controller's CPU; bench/results/scale-*
#   make demo     the whole product on the lab: site.yml over amazon.aws.aws_ssm to Debian 12 containers standing in for EC2
#   make demo-down  teardown.yml on the lab, then the lab itself (its node containers and its local AWS)
#   make ee       the execution environment image of meta/execution-environment.yml, for the lab (lab/ee.py build):
#                 its build context rendered offline (ansible-builder create), then built with Docker on a Debian base
#                 made here (lab/ee_base_image.sh), the lab's session-manager-plugin stand-in in place of AWS's;
#                 EE_IMAGE names it (nixl-efa/ee:lab). ansible-builder lives in .venv-ee (tests/ee/requirements.txt)
#   make ee-test  tests/ee: the offline render, what another EE reads of the collection, the image's contents, then
#                 site.yml, verify_efa.yml and teardown.yml run in the image with ansible-runner against a lab of its
#                 own (about 10 minutes; not part of make test)
#   make lab-up   the lab's local AWS (lab/labctl.py up: moto + the lab/ stand-ins) in the background on
#                 127.0.0.1:$LAB_PORT (5055); LAB_NODE_IMAGE=<image> makes every instance a container of that
#                 image (make demo sets it), LAB_WHEELHOUSE=<dir> mounts that wheelhouse into each
#                 (tools/wheelhouse.py; make demo sets it)
#   make lab-down stop it (and remove its node containers)
#   make lab-status  whether it runs, its pid, log and node image, and the export line of AWS variables
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The ansible-core / Python pair every gate runs on (one virtual environment each).
CORE ?= 2.19
NEWEST_CORE := 2.21
ifeq ($(CORE),2.19)
VENV := .venv
REQUIREMENTS := requirements.txt
VENV_PYTHON = $(PYTHON)
else ifeq ($(CORE),2.21)
VENV := .venv-2.21
REQUIREMENTS := requirements-2.21.txt
VENV_PYTHON = $(PYTHON_312)
else
$(error CORE=$(CORE): choose 2.19 or 2.21)
endif
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTION_LINK := .collections/ansible_collections/nixl_efa/cluster
MODULES := $(sort $(basename $(notdir $(wildcard plugins/modules/*.py))))
FILTERS := $(sort $(basename $(notdir $(wildcard plugins/filter/*.yml))))
CALLBACKS := $(sort $(basename $(notdir $(wildcard plugins/callback/*.py))))
LOOKUPS := $(sort $(basename $(notdir $(wildcard plugins/lookup/*.py))))
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

# First Python >= 3.11 found: PYTHON from the environment, python3, then versioned names.
PYTHON ?= $(shell for p in python3 python3.11 python3.12 python3.13; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { command -v $$p; break; }; done)
# Python 3.12 for CORE=2.21: PYTHON_312 from the environment, python3.12, then pyenv's.
PYTHON_312 ?= $(shell for p in python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12); do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null \
	&& { command -v $$p; break; }; done)

.PHONY: help setup lint sanity unit integration molecule docs variables-doc test clean lab-up lab-down lab-status
.PHONY: bench scale demo demo-down e2e ee ee-test
.PHONY: release-test release test-newest test-default-core integration-1 integration-2 integration-3

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

setup: $(STAMP) $(COLLECTION_LINK)

$(STAMP): $(REQUIREMENTS)
	@test -n "$(VENV_PYTHON)" || { echo "CORE=$(CORE) needs Python $(if $(filter 2.21,$(CORE)),3.12 (set PYTHON_312=...),>= 3.11 (set PYTHON=...))"; exit 1; }
	$(VENV_PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(REQUIREMENTS)
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

# ansible-lint's syntax check runs ansible-playbook without -i: give it an empty inventory, not
# ansible.cfg's default inventories/aws (which would ask EC2 for the nodes).
lint: setup
	ruff check .
	ruff format --check .
	antsibull-changelog lint
	ANSIBLE_INVENTORY=/dev/null ansible-lint

sanity: setup
	SANITY_VENV=$(CURDIR)/$(VENV) tools/sanity.sh

# The unit tests of lab/browser_check.py drive a real headless Chromium: lab/browser.sh installs Debian's when missing.
unit: setup
	$(LAB) browser >/dev/null
	pytest

integration: setup
	pytest tests/integration

# make test runs the integration suite in three parts of similar length (make integration-<n>), each
# with a lab of its own; together they are the whole suite (tests/unit/test_makefile_gates.py checks).
INTEGRATION_1 := test_provision.py
INTEGRATION_2 := test_code_server.py test_ray_storage.py test_service_credentials.py test_capacity_purchase_race.py \
	test_capacity_script_cli.py test_provision_budget.py
INTEGRATION_3 := test_audit.py test_iam_s3.py test_instances.py test_efs.py test_ownership.py test_modules_on_lab.py \
	test_lab.py test_lab_reachability.py test_module_defaults.py test_capacity_adoption.py test_expiry.py
integration-1 integration-2 integration-3: setup
	pytest $(addprefix tests/integration/,$(INTEGRATION_$(subst integration-,,$@)))

docs: setup
	@for m in $(MODULES); do \
		ansible-doc nixl_efa.cluster.$$m >/dev/null || { echo "ansible-doc failed for $$m"; exit 1; }; \
		echo "ansible-doc nixl_efa.cluster.$$m: ok"; done
	@for f in $(FILTERS); do \
		ansible-doc -t filter nixl_efa.cluster.$$f >/dev/null || { echo "ansible-doc failed for filter $$f"; exit 1; }; \
		echo "ansible-doc -t filter nixl_efa.cluster.$$f: ok"; done
	@for c in $(CALLBACKS); do \
		ansible-doc -t callback nixl_efa.cluster.$$c >/dev/null || { echo "ansible-doc failed for callback $$c"; exit 1; }; \
		echo "ansible-doc -t callback nixl_efa.cluster.$$c: ok"; done
	@for l in $(LOOKUPS); do \
		ansible-doc -t lookup nixl_efa.cluster.$$l >/dev/null || { echo "ansible-doc failed for lookup $$l"; exit 1; }; \
		echo "ansible-doc -t lookup nixl_efa.cluster.$$l: ok"; done
	$(BIN)/python tools/variables_doc.py --check

variables-doc: setup
	$(BIN)/python tools/variables_doc.py

# NIXL_EFA_WHEELHOUSE: the wheels vLLM on the CPU needs (tools/wheelhouse.py, downloaded once per
# machine), mounted read-only into the default scenario's nodes.
molecule: setup
	$(LAB) engine
	$(LAB) image
	NIXL_EFA_WHEELHOUSE=$$($(BIN)/python tools/wheelhouse.py) && export NIXL_EFA_WHEELHOUSE && molecule test --all

# make test sets up both virtual environments, then runs every gate on two workers
# (tools/test_pool.py): the gates that start node containers (molecule, e2e, release-test; their
# nodes share loopback addresses 127.0.1.x) one after the other on the "systems" worker, and every
# other gate (integration in three parts, sanity, lint, unit, docs) from a shared pool, longest
# first, on the "checks" worker and on the systems worker once its chain is done. Each gate's
# lines are prefixed with its worker and gate, its wall time printed as it ends
# ("== [checks] make unit (CORE=2.21): N s"), a summary at the end. After a failed gate no new
# gate starts; make test fails when any gate did.
test: test-default-core
	$(MAKE) --no-print-directory setup
	$(MAKE) --no-print-directory setup CORE=$(NEWEST_CORE)
	$(LAB) browser >/dev/null
	@start=$$(date +%s); $(BIN)/python tools/test_pool.py --default-core $(CORE) --newest-core $(NEWEST_CORE); rc=$$?; \
		echo "== make test: $$(( $$(date +%s) - start )) s after set-up, exit $$rc"; exit $$rc

test-default-core:
	@test "$(CORE)" = 2.19 || { echo "make test runs both pairs itself: run it without CORE= (make <gate> CORE=$(CORE) runs one gate)"; exit 1; }

# The newest pair alone: the same gates but docs, molecule and e2e (those stay on the default pair).
test-newest:
	$(MAKE) --no-print-directory lint sanity unit integration release-test CORE=$(NEWEST_CORE)

# tests/release: the tarball built, installed offline and reused from tests/consumer (its own lab AWS and a node
# container, consumer-node-0), argument-spec failures, a fragment per change, make release on a throw-away clone.
release-test: setup
	$(LAB) engine
	$(LAB) image >/dev/null
	pytest tests/release

# make release VERSION=x.y.z, on a clean, committed tree: galaxy.yml's version, CHANGELOG.rst and changelog.yaml
# from the fragments (antsibull-changelog consumes them), build/nixl_efa-cluster-x.y.z.tar.gz, and the release
# tests of that tarball (contents, offline install). Commit and tag the result yourself.
VERSION ?=
release: setup
	@[[ "$(VERSION)" =~ ^[0-9]+\.[0-9]+\.[0-9]+$$ ]] || { echo "make release VERSION=x.y.z (got '$(VERSION)')"; exit 1; }
	@test -z "$$(git status --porcelain)" || { echo "make release needs a clean tree: commit or stash first"; git status --short; exit 1; }
	sed -i -E 's/^version: .*/version: $(VERSION)/' galaxy.yml
	antsibull-changelog release --version $(VERSION)
	rm -f build/nixl_efa-cluster-$(VERSION).tar.gz
	ansible-galaxy collection build --output-path build
	RELEASE_TARBALL=$(CURDIR)/build/nixl_efa-cluster-$(VERSION).tar.gz pytest tests/release/test_build.py
	@echo "Released $(VERSION) in build/. Next: git add -A && git commit -m 'Release $(VERSION)' && git tag $(VERSION)"

clean:
	rm -rf .collections tests/output .pytest_cache .ruff_cache

# The lab's local AWS for manual runs: lab/labctl.py (moto plus the stand-ins of lab/ on loopback, pid and
# log in .lab/<port>/). LAB_THROTTLE_SHARE (0 to 1) in the environment throttles that share of its API calls.
LAB_PORT ?= 5055
LAB_WAIT ?= 60
LAB_DIR = .lab/$(LAB_PORT)
# lab/labctl.py needs no more than the standard library but to start the lab (make setup's moto).
LAB = $(firstword $(wildcard $(BIN)/python) $(PYTHON)) lab/labctl.py
LAB_OPTIONS = --port $(LAB_PORT) --dir $(LAB_DIR)

lab-up: setup
	@$(LAB) up $(LAB_OPTIONS) --wait $(LAB_WAIT) --node-image "$(LAB_NODE_IMAGE)" --wheelhouse "$(LAB_WHEELHOUSE)"

lab-down:
	@$(LAB) down $(LAB_OPTIONS)

# Exit 0 whether the lab runs or not (lab/labctl.py status itself exits 3 when it does not).
lab-status:
	@$(LAB) status $(LAB_OPTIONS) || [ $$? -eq 3 ]

# The demo: the lab with node containers, then site.yml through the lab inventory, as a user runs
# it on AWS (aws_ec2 inventory, amazon.aws.aws_ssm). Idempotent: run it again, it changes nothing.
# What points every AWS client at the lab (lab/labctl.py env prints it; lab-up prints it as an export line).
LAB_ENV = env -u AWS_PROFILE -u AWS_SESSION_TOKEN $$($(LAB) env --port $(LAB_PORT))
DEMO_ARGS ?=

demo: setup
	$(LAB) engine
	$(MAKE) --no-print-directory lab-up LAB_NODE_IMAGE=$$($(LAB) image) LAB_WHEELHOUSE=$$($(BIN)/python tools/wheelhouse.py)
	$(LAB_ENV) ansible-playbook -i inventories/lab playbooks/site.yml $(DEMO_ARGS)
	@echo "Next: $(LAB_ENV) ansible-playbook -i inventories/lab verify_efa.yml   (make demo-down removes it all)"

demo-down: setup
	@if $(LAB) status $(LAB_OPTIONS) >/dev/null; then \
		$(LAB_ENV) ansible-playbook -i inventories/lab playbooks/teardown.yml; \
	fi
	$(MAKE) --no-print-directory lab-down

# The e2e also opens the validation run's page in the MLflow UI with a headless Chromium (lab/browser_check.py).
e2e: setup
	$(LAB) browser >/dev/null
	pytest tests/e2e

# Benchmarks (bench/run.py): their own lab on BENCH_PORT, always taken down at the end, even after a failure.
BENCH_PORT ?= 5071
BENCH_ARGS ?=

bench: setup
	$(LAB) engine
	$(BIN)/python bench/run.py --port $(BENCH_PORT) --image $$($(LAB) image) $(BENCH_ARGS)

# Scale (bench/scale.py): configure + validate on each node count of SCALE_ARGS' --nodes (2,8), each on a
# fresh lab on SCALE_PORT taken down at the end, even after a failure; results in bench/results/scale-*.
SCALE_PORT ?= 5073
SCALE_ARGS ?=

scale: setup
	$(LAB) engine
	$(BIN)/python bench/scale.py --port $(SCALE_PORT) --image $$($(LAB) image) $(SCALE_ARGS)

# The execution environment (meta/execution-environment.yml) built and run in the lab: lab/ee.py. ansible-builder gets
# a virtual environment of its own, made here rather than by make setup: only these two targets need it, and its
# dependencies (bindep, its jsonschema) stay out of the one every gate runs in.
EE_VENV := .venv-ee
EE_STAMP := $(EE_VENV)/.installed
EE_IMAGE ?= nixl-efa/ee:lab

$(EE_STAMP): tests/ee/requirements.txt
	@test -n "$(PYTHON)" || { echo "make ee needs Python >= 3.11 (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(EE_VENV)
	$(EE_VENV)/bin/python -m pip install --quiet -r tests/ee/requirements.txt
	touch $@

ee: setup $(EE_STAMP)
	$(LAB) engine
	$(BIN)/python lab/ee.py build --builder $(CURDIR)/$(EE_VENV)/bin/ansible-builder --tag $(EE_IMAGE)

ee-test: setup $(EE_STAMP)
	$(LAB) engine
	$(LAB) image >/dev/null
	EE_BUILDER=$(CURDIR)/$(EE_VENV)/bin/ansible-builder EE_IMAGE=$(EE_IMAGE) pytest -s tests/ee

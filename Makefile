# nixl_efa.cluster: set-up and test gates.
#   make setup    .venv with everything pinned in requirements.txt (collections from the `ansible` bundle)
#   make lint     ruff + ansible-lint (production profile) + changelog fragments
#   make sanity   ansible-test sanity on a copy under ansible_collections/nixl_efa/cluster
#   make docs     render every module's documentation with ansible-doc (fails on a broken doc)
#   make unit     pytest unit tests (pure logic and every module through botocore's Stubber)
#   make integration  ansible-playbook runs of the modules against the lab's local AWS
#   make test     all of the above
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTION_LINK := .collections/ansible_collections/nixl_efa/cluster
MODULES := $(sort $(basename $(notdir $(wildcard plugins/modules/*.py))))
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

# First Python >= 3.11 found: PYTHON from the environment, python3, then versioned names.
PYTHON ?= $(shell for p in python3 python3.11 python3.12 python3.13; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { command -v $$p; break; }; done)

.PHONY: help setup lint sanity unit integration docs test clean

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

setup: $(STAMP) $(COLLECTION_LINK)

$(STAMP): requirements.txt
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

lint: setup
	ruff check .
	ruff format --check .
	antsibull-changelog lint
	ansible-lint

sanity: setup
	tools/sanity.sh

unit: setup
	pytest

integration: setup
	pytest tests/integration

docs: setup
	@for m in $(MODULES); do \
		ansible-doc nixl_efa.cluster.$$m >/dev/null || { echo "ansible-doc failed for $$m"; exit 1; }; \
		echo "ansible-doc nixl_efa.cluster.$$m: ok"; done

test: lint docs sanity unit integration

clean:
	rm -rf .collections tests/output .pytest_cache .ruff_cache

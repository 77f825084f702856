# Everything a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/agentic-rag
# The CPU build of torch, installed before anything that depends on torch (a plain `torch`
# requirement would pull a CUDA build of several GB).
TORCH ?= torch==2.13.0
DEMO_INDEX ?= .agentic-rag/demo-index
TEST_MODEL ?= qwen2.5-coder-0.5b

.PHONY: demo test install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[local,eval,test]"
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(CLI) models pull
	$(CLI) index examples/demo_corpus --index $(DEMO_INDEX)
	$(CLI) ask "$$($(PY) examples/demo_question.py)" --index $(DEMO_INDEX)

test: $(VENV)/.installed
	$(CLI) models pull $(TEST_MODEL)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .agentic-rag .pytest_cache

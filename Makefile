# Everything a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/agentic-rag
# torch, pinned and installed before anything that depends on it, so that the embedding model's
# dependencies do not pull another build. Where the package index gives a CUDA build for this pin,
# choose the CPU wheel: make demo TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu".
TORCH ?= torch==2.13.0
DEMO_INDEX ?= .agentic-rag/demo-index
TEST_MODEL ?= qwen2.5-coder-0.5b

.PHONY: demo test install browser clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[local,eval,mcp,serve,postgres,studio,chroma,test]"
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(CLI) models pull
	$(CLI) index examples/demo_corpus --index $(DEMO_INDEX)
	$(CLI) ask "$$($(PY) examples/demo_question.py)" --index $(DEMO_INDEX)
	$(CLI) research "$$($(PY) examples/demo_question.py research)" --index $(DEMO_INDEX) --out .agentic-rag/demo-report.md

# Debian's Chromium for the chat page's browser test, installed only where it is missing and
# apt-get can run as root; otherwise that one test is skipped and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the browser test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: the chat page test will be skipped"; \
	  else echo "no chromium and no apt-get as root: the chat page test will be skipped"; fi; }

test: $(VENV)/.installed browser
	$(CLI) models pull $(TEST_MODEL)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .agentic-rag .pytest_cache

# The two commands a newcomer needs are `make dev` and `make test` (see README.md).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never

.PHONY: test dev lint proto bench bootstrap

## Everything `make test` needs (see scripts/bootstrap for what `make dev` installs by need).
bootstrap:
	@./scripts/bootstrap test

## Run the whole mesh locally (private PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set);
## flags through ARGS, e.g. `make dev ARGS="--http-port 9090 --engine browser"`.
dev:
	@./scripts/bootstrap dev $(ARGS)
	uv run wamesh dev $(ARGS)

## Lint, type-check and run every test against real PostgreSQL, Redis and Chromium.
test: bootstrap lint
	uv run pytest

lint:
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy services gateway

## Regenerate proto/wamesh/v1/*_pb2*.py{,i} from the .proto files.
proto: bootstrap
	uv run python proto/generate.py
	uv run ruff check --fix --quiet proto/generate.py

## Benchmarks (not part of the tests): print ratios against a baseline measured in the same run.
bench: bootstrap
	uv run python -m tests.bench

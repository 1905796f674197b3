# Sourced by the scripts: a project venv with agenthost and its test tools, made once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! python3 -m venv --help >/dev/null 2>&1; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
fi
if [ ! -x .venv/bin/agenthost ] || [ pyproject.toml -nt .venv/.installed ]; then
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -e '.[test,lab]'
    touch .venv/.installed
fi
export PATH="$PWD/.venv/bin:$PATH"

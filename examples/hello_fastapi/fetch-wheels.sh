#!/bin/sh
# Fills ./wheels with pure py3-none-any wheels made from Debian's python3-fastapi & co.
# (no PyPI needed: see scripts/fixtures/debian_wheels.py). Deterministic: same bytes every run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python3 "$here/../../scripts/fixtures/debian_wheels.py" --out "$here/wheels" --requirements "$here/wheels/requirements.hashes.txt"

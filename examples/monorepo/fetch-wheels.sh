#!/bin/sh
# Fills ./wheels with real wheels of the pinned packages, repacked from this machine's Python
# (scripts/fixtures/repack_wheels.py; deterministic). Versions must match requirements.txt.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python3 "$here/../../scripts/fixtures/repack_wheels.py" --out "$here/wheels" --requirements "$here/wheels/requirements.hashes.txt" six PyYAML

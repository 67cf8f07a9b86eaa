// The benchmark's app: a realistic Python service in a temp dir. Real wheels (numpy, scipy, sympy,
// pydantic, Flask, requests, cryptography, ... repacked from this machine's Python), a pinned and
// hashed requirements.txt, a local library, a small Flask service with a few hundred lines of
// modules, a [tool.shale] config and the Dockerfile of the reference flow.
import { createCipheriv } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { run } from '../test/e2e/support/exec.js';
import { ensureNativeWheels, ensureRepackedWheels, type WheelSet } from '../test/e2e/support/wheels.js';

/**
 * Every package the app pins, with every dependency, so `pip install --no-index -r` succeeds.
 * Not botocore/boto3: botocore's installed RECORD is broken on the project's machines. Not
 * cryptography: its wheel is manylinux_2_34, and shale assumes glibc 2.28 until it reads the
 * base's own (Debian 12 has 2.36), so it refuses the wheel pip would install.
 */
export const BENCH_WHEELS: readonly string[] = [
  'numpy',
  'scipy',
  'sympy',
  'mpmath',
  'networkx',
  'pydantic',
  'pydantic_core',
  'annotated-types',
  'typing_extensions',
  'typing-inspection',
  'Flask',
  'Werkzeug',
  'Jinja2',
  'MarkupSafe',
  'itsdangerous',
  'click',
  'blinker',
  'PyYAML',
  'requests',
  'certifi',
  'idna',
  'charset-normalizer',
  'urllib3',
  'Pygments',
  'regex',
  'orjson',
  'python-dateutil',
  'six',
];

/** The app file the one-line changes edit. */
export const CHANGED_FILE = 'app/service/handlers.py';
const MARKER = '# bench-change:';

export interface BenchApp {
  dir: string;
  wheels: WheelSet;
  wheelBytes: number;
  wheelCount: number;
  /** Lines of Python in the app and the library. */
  pythonLines: number;
}

const pyproject = (): string => `[project]
name = "bench-service"
version = "1.0.0"
requires-python = ">=3.11"

[tool.shale]
name = "bench-service"
domain = "bench"
base = "python:3.11-slim"
python = "3.11"
platforms = ["linux/amd64"]
workdir = "/app"
entrypoint = ["python3", "main.py"]
env = { PORT = "8000" }
ports = [8000]
app = ["app"]
lock = "requirements.txt"
find-links = ["wheels"]
no-index = true

# Least to most often changed, as a team would write it: the two biggest packages alone, the
# rest of the third-party packages together, then the local library (the app layer comes last).
[[tool.shale.layers]]
name = "scipy"
packages = ["scipy"]

[[tool.shale.layers]]
name = "numpy"
packages = ["numpy"]

[[tool.shale.layers]]
name = "sympy"
packages = ["sympy", "mpmath"]

[[tool.shale.layers]]
name = "pip_deps"
packages = "all"

[[tool.shale.layers]]
name = "libs"
paths = ["libs/benchlib"]
`;

/** The reference flow, in the form Docker's docs recommend: dependencies first, app last. */
const dockerfile = (base: string): string => `FROM ${base}
ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt /tmp/deps/requirements.txt
COPY wheels/ /tmp/deps/wheels/
RUN pip install --no-index --find-links /tmp/deps/wheels -r /tmp/deps/requirements.txt
COPY libs/benchlib/ /tmp/libs/benchlib/
RUN pip install --no-index --no-build-isolation --no-deps /tmp/libs/benchlib
COPY app/ /app/
ENV PORT=8000
EXPOSE 8000
ENTRYPOINT ["python3", "main.py"]
`;

const libPyproject = `[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "benchlib"
version = "0.4.0"
description = "Shared numerics and validation helpers for the bench service"
requires-python = ">=3.11"
dependencies = ["numpy", "pydantic"]

[tool.setuptools.packages.find]
where = ["src"]
`;

const libInit = `"""benchlib: shared helpers for the bench service."""

from .stats import summarize, moving_average, zscores
from .schema import Measurement, Batch

__version__ = "0.4.0"
__all__ = ["summarize", "moving_average", "zscores", "Measurement", "Batch", "__version__"]
`;

const libStats = `"""Small statistics helpers on numpy arrays."""

from __future__ import annotations

import numpy as np


def summarize(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return {"count": 0, "mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}
    return {
        "count": int(arr.size),
        "mean": float(arr.mean()),
        "std": float(arr.std()),
        "min": float(arr.min()),
        "max": float(arr.max()),
    }


def moving_average(values: list[float], window: int = 3) -> list[float]:
    arr = np.asarray(values, dtype=float)
    if window <= 0 or arr.size < window:
        return []
    kernel = np.ones(window) / window
    return np.convolve(arr, kernel, mode="valid").tolist()


def zscores(values: list[float]) -> list[float]:
    arr = np.asarray(values, dtype=float)
    std = arr.std()
    if std == 0:
        return [0.0] * int(arr.size)
    return ((arr - arr.mean()) / std).tolist()
`;

const libSchema = `"""Validated inputs shared by the services."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class Measurement(BaseModel):
    sensor: str = Field(min_length=1, max_length=64)
    value: float
    unit: str = "1"

    @field_validator("sensor")
    @classmethod
    def no_spaces(cls, v: str) -> str:
        if " " in v:
            raise ValueError("sensor names have no spaces")
        return v


class Batch(BaseModel):
    source: str
    measurements: list[Measurement]

    def values(self) -> list[float]:
        return [m.value for m in self.measurements]
`;

const appMain = `"""The bench service: a small Flask app over numpy/scipy/sympy and the local library."""

import os

from service import create_app

app = create_app()

if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8000")))
`;

const appInit = `from flask import Flask

from .handlers import register


def create_app() -> Flask:
    app = Flask(__name__)
    register(app)
    return app
`;

/** handlers.py: routes over generated "reports" so the file is a realistic few hundred lines. */
function appHandlers(): string {
  const parts: string[] = [
    '"""HTTP handlers of the bench service."""',
    '',
    'from __future__ import annotations',
    '',
    'import numpy as np',
    'from flask import Flask, jsonify, request',
    'from scipy import stats as sstats',
    '',
    'import benchlib',
    'from .reports import REPORTS',
    '',
    'GREETING = "hello from the bench service"',
    '',
    '',
    'def register(app: Flask) -> None:',
    '    @app.get("/")',
    '    def index():',
    '        return jsonify(message=GREETING, benchlib=benchlib.__version__, reports=sorted(REPORTS))',
    '',
    '    @app.post("/summary")',
    '    def summary():',
    '        batch = benchlib.Batch.model_validate(request.get_json(force=True))',
    '        values = batch.values()',
    '        out = benchlib.summarize(values)',
    '        if len(values) > 2:',
    '            out["skew"] = float(sstats.skew(np.asarray(values)))',
    '        return jsonify(out)',
    '',
    '    @app.get("/reports/<name>")',
    '    def report(name: str):',
    '        fn = REPORTS.get(name)',
    '        if fn is None:',
    '            return jsonify(error=f"no report {name}"), 404',
    '        return jsonify(fn(int(request.args.get("n", "16"))))',
    '',
    MARKER + ' 0',
    '',
  ];
  return parts.join('\n');
}

/** reports.py: a few hundred lines of plausible, valid code (generated families of reports). */
function appReports(): string {
  const lines: string[] = [
    '"""Report functions the service exposes under /reports/<name>."""',
    '',
    'from __future__ import annotations',
    '',
    'from typing import Callable',
    '',
    'import numpy as np',
    'import sympy',
    'from scipy import linalg, signal',
    '',
    'import benchlib',
    '',
  ];
  const names: string[] = [];
  for (let i = 0; i < 24; i++) {
    const name = `report_${String(i).padStart(2, '0')}`;
    names.push(name);
    lines.push(
      '',
      `def ${name}(n: int) -> dict[str, object]:`,
      `    """Report ${i}: a seeded series of ${i + 8} points, filtered and summarized."""`,
      `    rng = np.random.default_rng(${1000 + i})`,
      `    series = rng.normal(loc=${i}.0, scale=${(i % 5) + 1}.0, size=max(n, ${i + 8}))`,
      `    smooth = signal.savgol_filter(series, window_length=5, polyorder=2) if series.size >= 5 else series`,
      `    m = np.outer(smooth[:4], smooth[:4]) + np.eye(4) * ${i + 1}`,
      `    det = float(linalg.det(m))`,
      `    x = sympy.Symbol("x")`,
      `    poly = sympy.expand((x + ${i % 7}) ** 2)`,
      `    return {`,
      `        "name": "${name}",`,
      `        "summary": benchlib.summarize(smooth.tolist()),`,
      `        "moving": benchlib.moving_average(smooth.tolist(), ${(i % 4) + 2})[:8],`,
      `        "det": det,`,
      `        "poly": str(poly),`,
      `    }`,
      '',
    );
  }
  lines.push('', 'REPORTS: dict[str, Callable[[int], dict[str, object]]] = {');
  for (const n of names) lines.push(`    "${n}": ${n},`);
  lines.push('}', '');
  return lines.join('\n');
}

const appConfig = `"""Settings read from the environment, with defaults."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    port: int = int(os.environ.get("PORT", "8000"))
    log_level: str = os.environ.get("LOG_LEVEL", "info")
    max_batch: int = int(os.environ.get("MAX_BATCH", "10000"))


SETTINGS = Settings()
`;

async function write(path: string, text: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
}

/** Copies a wheel set into `dir/wheels` and its requirements.txt into `dir`; counts the wheels and their bytes. */
async function copyWheels(wheels: WheelSet, dir: string): Promise<{ wheelBytes: number; wheelCount: number }> {
  const wheelDir = join(dir, 'wheels');
  await mkdir(wheelDir, { recursive: true });
  let wheelBytes = 0;
  let wheelCount = 0;
  for (const f of await readdir(wheels.dir)) {
    if (!f.endsWith('.whl')) continue;
    await copyFile(join(wheels.dir, f), join(wheelDir, f));
    wheelBytes += (await stat(join(wheelDir, f))).size;
    wheelCount++;
  }
  await copyFile(wheels.requirements, join(dir, 'requirements.txt'));
  return { wheelBytes, wheelCount };
}

/**
 * Writes the app into `dir` (empty or absent). `base` is the image reference the Dockerfile's
 * FROM names (the proxy's host, so buildah's pulls are counted too).
 */
export async function generateApp(dir: string, base: string): Promise<BenchApp> {
  const wheels = await ensureRepackedWheels(BENCH_WHEELS);
  const { wheelBytes, wheelCount } = await copyWheels(wheels, dir);
  const files: Record<string, string> = {
    'pyproject.toml': pyproject(),
    Dockerfile: dockerfile(base),
    '.dockerignore': '.shale/\n**/__pycache__/\n**/*.pyc\n.git/\n',
    'libs/benchlib/pyproject.toml': libPyproject,
    'libs/benchlib/src/benchlib/__init__.py': libInit,
    'libs/benchlib/src/benchlib/stats.py': libStats,
    'libs/benchlib/src/benchlib/schema.py': libSchema,
    'app/main.py': appMain,
    'app/service/__init__.py': appInit,
    'app/service/handlers.py': appHandlers(),
    'app/service/reports.py': appReports(),
    'app/service/config.py': appConfig,
  };
  let pythonLines = 0;
  for (const [rel, text] of Object.entries(files)) {
    await write(join(dir, rel), text);
    if (rel.endsWith('.py')) pythonLines += text.split('\n').length;
  }
  // The generated Python must at least parse (no bytecode written into the app).
  const pyFiles = Object.keys(files)
    .filter((f) => f.endsWith('.py'))
    .map((f) => join(dir, f));
  await run('python3', ['-c', 'import ast, sys\nfor f in sys.argv[1:]: ast.parse(open(f).read(), f)', ...pyFiles]);
  return { dir, wheels, wheelBytes, wheelCount, pythonLines };
}

/** A one-line change to the app: rewrites the marker line of CHANGED_FILE with a new value. */
export async function changeOneLine(dir: string, value: string): Promise<void> {
  const file = join(dir, CHANGED_FILE);
  const text = await readFile(file, 'utf8');
  const next = text.replace(new RegExp(`^${MARKER}.*$`, 'm'), `${MARKER} ${value}`);
  if (next === text) throw new Error(`${file}: the change marker is missing or the value is unchanged (${value})`);
  await writeFile(file, next);
}

/** The platforms of the multi-platform scenario, and the one the one-platform build keeps. */
export const MULTI_PLATFORMS = ['linux/amd64', 'linux/arm64'] as const;

/**
 * The small app of the multi-platform scenario, as test/e2e/multi-platform.test.ts builds it: the
 * main app's numpy/scipy wheels exist only for amd64 here, so this one pins PyYAML (a native wheel
 * per platform, from ensureNativeWheels) and six (pure), on the two-platform base `base` (a
 * reference to the image ensureMultiArchBase pushed, e.g. `python:3.11-slim-multiarch`).
 * shale only: buildah cannot build arm64 here without emulation.
 */
export async function generateMultiArchApp(dir: string, base: string): Promise<{ dir: string; wheels: WheelSet; wheelBytes: number; wheelCount: number }> {
  const wheels = await ensureNativeWheels();
  const { wheelBytes, wheelCount } = await copyWheels(wheels, dir);
  await write(
    join(dir, 'pyproject.toml'),
    `[tool.shale]
name = "bench-multi"
base = ${JSON.stringify(base)}
python = "3.11"
platforms = ${JSON.stringify(MULTI_PLATFORMS)}
workdir = "/app"
entrypoint = ["python3", "main.py"]
lock = "requirements.txt"
find-links = ["wheels"]
no-index = true
`,
  );
  await write(join(dir, 'main.py'), 'import six, yaml\nprint(yaml.__with_libyaml__, six.__version__)\n');
  return { dir, wheels, wheelBytes, wheelCount };
}

/**
 * The main app plus `bytes` of model weights under models/ (files of 128 MB at most, pseudo-random
 * and so incompressible: the image gets `bytes` more of layers), added to the app layer. For the
 * memory target: a build of an image with 1 GB of layers must stay under 200 MB of RSS.
 */
export async function generateBigApp(dir: string, base: string, bytes: number): Promise<BenchApp & { modelBytes: number }> {
  const app = await generateApp(dir, base);
  const pyprojectFile = join(dir, 'pyproject.toml');
  const text = await readFile(pyprojectFile, 'utf8');
  const next = text.replace(/^app = \["app"\]$/m, 'app = ["app", "models"]');
  if (next === text) throw new Error(`${pyprojectFile}: no \`app = ["app"]\` line to extend`);
  await writeFile(pyprojectFile, next);
  const FILE = 128 * 1024 * 1024;
  let i = 0;
  for (let left = bytes; left > 0; left -= FILE, i++) {
    // AES-CTR over zeros: a fast, deterministic stream no compressor can shrink.
    const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, i));
    const size = Math.min(FILE, left);
    const zeros = Buffer.alloc(1024 * 1024);
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let n = 0; n < size; n += zeros.length) yield cipher.update(zeros.subarray(0, Math.min(zeros.length, size - n)));
    }
    await mkdir(join(dir, 'models'), { recursive: true });
    await pipeline(Readable.from(chunks()), createWriteStream(join(dir, 'models', `shard-${String(i).padStart(2, '0')}.bin`)));
  }
  return { ...app, modelBytes: bytes };
}

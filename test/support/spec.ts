// A BuildSpec as loadBuildSpec would give for a small project at /p (shale.toml, amd64, the
// official slim base, requirements.txt), for unit tests that plan without a config file.
import type { BuildSpec } from '../../src/config/spec.js';

export function testSpec(extra: Partial<BuildSpec> = {}): BuildSpec {
  return {
    projectDir: '/p',
    configFile: '/p/shale.toml',
    name: 'x',
    repository: 'x',
    base: 'python:3.11-slim',
    platforms: [{ os: 'linux', architecture: 'amd64' }],
    workdir: '/app',
    entrypoint: [],
    cmd: [],
    env: {},
    ports: [],
    user: '',
    labels: {},
    indexUrl: 'https://pypi.org/simple',
    findLinks: [],
    noIndex: false,
    app: [],
    exclude: [],
    extras: [],
    groups: [],
    lock: '/p/requirements.txt',
    ...extra,
  };
}

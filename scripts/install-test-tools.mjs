#!/usr/bin/env node
// Installs what the end-to-end tests need (scripts/test-tools.json: the one list) and configures
// podman as these machines need it (cgroupfs, no default ulimits), when it can: as root or with
// passwordless sudo. Otherwise it prints the one command that does and leaves the rest to the
// tests, which name the missing package. `npm test` and `.ci/run` call it; it does nothing when
// everything is there.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const list = JSON.parse(readFileSync(new URL('./test-tools.json', import.meta.url), 'utf8'));
const onPath = (tool) =>
  [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'].some((d) => {
    try {
      accessSync(join(d, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
const missing = [
  ...new Set(
    Object.entries(list.tools)
      .filter(([tool]) => !onPath(tool))
      .map(([, pkg]) => pkg),
  ),
];
const extra = list.packages.filter(
  (p) => spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout?.includes('install ok installed') !== true,
);

const CONF = '/etc/containers/containers.conf';
const WANT = '[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\n';
const confOk =
  existsSync(CONF) && /^cgroup_manager *= *"cgroupfs"/m.test(readFileSync(CONF, 'utf8')) && /^default_ulimits *= *\[\]/m.test(readFileSync(CONF, 'utf8'));

const packages = [...missing, ...extra];
if (packages.length === 0 && confOk) process.exit(0);

const root = process.getuid?.() === 0;
const sudo = !root && spawnSync('sudo', ['-n', 'true']).status === 0;
if (!root && !sudo) {
  const cmd = `sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  console.error(
    `install-test-tools: the end-to-end tests need ${packages.join(', ') || 'podman configured'}, and this user cannot install them. Run:\n  ${packages.length ? cmd : ''}${confOk ? '' : `\n  printf '${WANT.replace(/\n/g, '\\n')}' | sudo tee ${CONF}`}`,
  );
  process.exit(0);
}
const as = (cmd, args, input) =>
  execFileSync(root ? cmd : 'sudo', root ? args : ['-n', cmd, ...args], {
    stdio: input === undefined ? 'inherit' : ['pipe', 'inherit', 'inherit'],
    input,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
if (packages.length) {
  console.error(`install-test-tools: apt-get install ${packages.join(' ')}`);
  as('apt-get', ['update', '-q']);
  as('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages]);
}
if (!confOk) {
  // Podman runs on these machines only with cgroupfs and no default ulimits.
  if (existsSync(CONF)) as('cp', [CONF, `${CONF}.orig-${Date.now()}`]);
  as('mkdir', ['-p', '/etc/containers']);
  as('tee', [CONF], WANT);
  console.error(`install-test-tools: wrote ${CONF}`);
}

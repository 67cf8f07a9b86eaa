import type { Platform } from '../oci/types.js';

/** The tag part of "host:5000/repo:tag" ("latest" when there is none). */
export function tagOf(ref: string): string {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(colon + 1) : 'latest';
}

/** Docker's full name for a familiar one: "hello:1" → "docker.io/library/hello:1" (containerd keys images by it). */
export function dockerName(ref: string): string {
  const withTag = ref.lastIndexOf(':') > ref.lastIndexOf('/') ? ref : `${ref}:latest`;
  const first = withTag.split('/')[0] ?? '';
  const hasHost = withTag.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasHost) return withTag;
  return withTag.includes('/') ? `docker.io/${withTag}` : `docker.io/library/${withTag}`;
}

/** The host's platform in OCI terms; images are Linux even where Docker runs in a VM. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

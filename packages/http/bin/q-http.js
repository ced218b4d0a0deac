#!/usr/bin/env node
// The `q-http` command. A committed launcher rather than `bin: dist/cli/run.js`, because `bin` must
// exist straight after `pnpm install` in a fresh clone, before anything is built.
//
// - The published package (and a checkout built since its last change) runs dist/cli/run.js: plain
//   Node, no tsx needed.
// - A checkout without a build, with sources newer than the build, or Node started with
//   `--conditions=@q/source` (how the workspace asks for sources, as `pnpm demo` does) runs
//   src/cli/run.ts through tsx, found from here upwards (the workspace root's devDependency).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/cli/run.js', import.meta.url);
const source = new URL('../src/cli/run.ts', import.meta.url);

/** Whether a source file changed after the build (a stale dist must not shadow the sources). */
function sourcesNewerThanBuild() {
  if (!existsSync(source)) return false;
  const built = statSync(dist).mtimeMs;
  const dir = fileURLToPath(new URL('../src/', import.meta.url));
  return readdirSync(dir, { recursive: true }).some((file) => statSync(`${dir}${file}`).mtimeMs > built);
}

const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
// Installed from a tarball (under node_modules once symlinks are resolved): dist/ is the package. The
// src/ beside it is there for source maps, and npm extracts it after dist/ with the time of
// extraction as mtime, so comparing times would pick the sources and fail for want of tsx.
const installed = fileURLToPath(import.meta.url)
  .split(/[\\/]/)
  .includes('node_modules');
const useSource = !installed && (flags.includes('@q/source') || !existsSync(dist) || sourcesNewerThanBuild());

if (!useSource) {
  await import(dist.href);
} else if (!existsSync(source)) {
  process.stderr.write('q-http: dist/cli/run.js is missing; reinstall @q/http\n');
  process.exit(1);
} else {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    process.stderr.write('q-http: not built and tsx is not installed: run `pnpm build` (or install tsx)\n');
    process.exit(1);
  }
  await tsx.tsImport(source.href, import.meta.url);
}

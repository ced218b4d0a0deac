// How the commands of @q packages start (`q-http`, `q-log`, `q-outbox`): each package's bin/ holds a
// committed launcher that calls this, rather than `bin: dist/...`, because `bin` must exist straight
// after `pnpm install` in a fresh clone, before anything is built. Plain JavaScript for the same reason.
//
// - The published package (and a checkout built since its last change) runs dist/<entry>.js: plain
//   Node, no tsx needed.
// - A checkout without a build, with sources newer than the build, or Node started with
//   `--conditions=@q/source` (how the workspace asks for sources, as `pnpm demo` does) runs
//   src/<entry>.ts through tsx, found from here upwards (the workspace root's devDependency), with the
//   workspace packages it imports taken from their sources too.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * A resolve hook that asks every import for the workspace's sources (`@q/source`), as
 * `--conditions=@q/source` would: the command's sources import other workspace packages, whose dist/ an
 * unbuilt checkout does not have (and a built one may hold stale).
 */
const SOURCE_CONDITION_HOOK = `data:text/javascript,${encodeURIComponent(
  'export function resolve(specifier, context, next) {' +
    " return next(specifier, { ...context, conditions: [...context.conditions, '@q/source'] }); }",
)}`;

/**
 * Runs a package's command from its launcher.
 * @param {string} binUrl the launcher's `import.meta.url` (its package is the folder above bin/)
 * @param {{ command: string, pkg: string, entry: string }} what the command's name, its package's name, and
 *   its entry module under dist/ and src/ without the extension (`cli/run`)
 * @returns {Promise<void>}
 */
export async function launchCli(binUrl, { command, pkg, entry }) {
  const dist = new URL(`../dist/${entry}.js`, binUrl);
  const source = new URL(`../src/${entry}.ts`, binUrl);
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  // Installed from a tarball (under node_modules once symlinks are resolved): dist/ is the package. The
  // src/ beside it is there for source maps, and npm extracts it after dist/ with the time of
  // extraction as mtime, so comparing times would pick the sources and fail for want of tsx.
  const installed = fileURLToPath(binUrl).split(/[\\/]/).includes('node_modules');
  const useSource =
    !installed && (flags.includes('@q/source') || !existsSync(dist) || sourcesNewerThanBuild(binUrl, dist, source));
  if (!useSource) {
    await import(dist.href);
  } else if (!existsSync(source)) {
    process.stderr.write(`${command}: dist/${entry}.js is missing; reinstall ${pkg}\n`);
    process.exit(1);
  } else {
    let tsx;
    try {
      tsx = await import('tsx/esm/api');
    } catch {
      process.stderr.write(`${command}: not built and tsx is not installed: run \`pnpm build\` (or install tsx)\n`);
      process.exit(1);
    }
    if (!flags.includes('@q/source')) register(SOURCE_CONDITION_HOOK);
    await tsx.tsImport(source.href, binUrl);
  }
}

/** Whether a source file changed after the build (a stale dist must not shadow the sources). */
function sourcesNewerThanBuild(binUrl, dist, source) {
  if (!existsSync(source)) return false;
  const built = statSync(dist).mtimeMs;
  const dir = fileURLToPath(new URL('../src/', binUrl));
  return readdirSync(dir, { recursive: true }).some((file) => statSync(`${dir}${file}`).mtimeMs > built);
}

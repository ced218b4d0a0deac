import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// The steps of tarball-install.test.ts: the workspace built and packed as a release would be, and a
// fresh npm project that installs the tarballs, type-checks and runs programs against them.

/** What a child process wrote, when it exited with 0. */
export interface Output {
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; a failure carries everything it wrote (tsc reports on stdout). */
export function exec(cwd: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Output> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd, env: { ...process.env, npm_config_loglevel: 'warn', ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) resolve({ stdout, stderr });
        else reject(new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${error.message}\n${stdout}\n${stderr}`));
      },
    );
  });
}

/** Every directory under packages/ that is a package: all of them are published. */
export function workspacePackages(root: string): string[] {
  const dir = join(root, 'packages');
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'package.json')))
    .sort();
}

/**
 * Builds every package in a copy of the workspace and packs it with `pnpm pack` (which rewrites the
 * `workspace:*` ranges). The copy keeps the dist/ of this checkout, which the testkit's launcher may
 * be running from in a parallel test, from being rewritten. Returns the tarballs' paths.
 */
export async function buildAndPack(root: string, work: string, packages: string[]): Promise<string[]> {
  const ws = join(work, 'workspace');
  for (const file of ['package.json', 'pnpm-workspace.yaml', 'tsconfig.base.json']) {
    cpSync(join(root, file), join(ws, file));
  }
  symlinkSync(join(root, 'node_modules'), join(ws, 'node_modules'));
  for (const name of packages) {
    // node_modules as pnpm made them: relative links, so @q/* points into the copy.
    cpSync(join(root, 'packages', name), join(ws, 'packages', name), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !/[/\\](dist|test|\.vite-temp)$/.test(src),
    });
  }
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const pnpm = ['--yes', 'pnpm@10.34.8', '--recursive', '--filter', './packages/**'];
  const env = { PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}` };
  await exec(ws, 'npx', [...pnpm, 'run', 'build'], env);
  await exec(ws, 'npx', [...pnpm, 'pack', '--pack-destination', tarballs], env);
  return readdirSync(tarballs)
    .sort()
    .map((file) => join(tarballs, file));
}

/** The compiler settings a user's project would have: which files, checked how. */
const configs = {
  // Node's own ESM resolution; emits the JavaScript the run tests execute.
  node16: { files: /^[\w-]+\.ts$/, options: { module: 'node16', moduleResolution: 'node16', outDir: 'out' } },
  // Vite, esbuild, webpack and Bun projects; type-checked only.
  bundler: { files: /^[\w-]+\.ts$/, options: { module: 'esnext', moduleResolution: 'bundler', noEmit: true } },
  // CommonJS TypeScript that require()s the packages. The .d.ts files are checked by the two above.
  commonjs: { files: /\.cts$/, options: { module: 'node20', noEmit: true, skipLibCheck: true } },
} as const;

/** The project's tsconfigs: module resolutions and module formats the programs are checked under. */
export type Config = keyof typeof configs;

/**
 * Creates a `"type": "module"` project in `app` with the given programs and one tsconfig per
 * {@link Config}, and npm-installs the tarballs and `dependencies` into it. Returns npm's output.
 */
export async function createApp(
  app: string,
  programs: Record<string, string>,
  tarballs: string[],
  dependencies: string[],
): Promise<Output> {
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  for (const [file, text] of Object.entries(programs)) writeFileSync(join(app, file), text);
  for (const [name, config] of Object.entries(configs)) {
    const compilerOptions = {
      strict: true,
      target: 'es2022',
      types: ['node'],
      // TypeScript's own lib files are not under test.
      skipDefaultLibCheck: true,
      // The re-check after a dependency changes redoes only the files that depend on it.
      incremental: true,
      tsBuildInfoFile: `.tsbuildinfo-${name}`,
      ...config.options,
    };
    const files = Object.keys(programs).filter((file) => config.files.test(file));
    writeFileSync(join(app, `tsconfig.${name}.json`), JSON.stringify({ compilerOptions, files }));
  }
  return npmInstall(app, [...tarballs, ...dependencies]);
}

/** `npm install` into the project, preferring the local cache to the registry. */
export function npmInstall(app: string, specs: string[]): Promise<Output> {
  return exec(app, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...specs]);
}

/**
 * Type-checks the project's programs with its own tsc. The ES module configs skip no library check,
 * so the packed .d.ts files are checked against the installed ioredis, kafkajs and @types/node too.
 */
export async function typecheck(app: string, config: Config): Promise<void> {
  await exec(app, join(app, 'node_modules/.bin/tsc'), ['-p', `tsconfig.${config}.json`]);
}

/** Runs a compiled program (or a .cjs file) with this Node and parses the last line it prints. */
export async function runProgram(
  app: string,
  file: string,
  env: NodeJS.ProcessEnv = {},
  args: string[] = [],
): Promise<unknown> {
  const { stdout } = await exec(app, process.execPath, [file, ...args], env);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
}

/** A broker served by the installed `q-kafka-testkit` command. */
export interface InstalledBroker {
  /** The bootstrap address the command printed (host:port,...). */
  bootstrap: string;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
}

/**
 * Starts the installed package's `bin` the way a user's script would: node_modules/.bin, no loader,
 * no tsx. Resolves with the address it prints on its first line.
 */
export function startInstalledBroker(app: string, args: string[]): Promise<InstalledBroker> {
  const child = spawn(join(app, 'node_modules/.bin/q-kafka-testkit'), args, {
    cwd: app,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`q-kafka-testkit printed no address within 20 s: ${err}`));
    }, 20_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const end = out.indexOf('\n');
      if (end < 0) return;
      clearTimeout(timer);
      resolve({ bootstrap: out.slice(0, end).trim(), stop });
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`q-kafka-testkit exited (code ${child.exitCode}) before printing its address: ${err}`));
    });
  });
}

// A typedoc plugin: each entry point (packages/<dir>/src/index.ts) is named after its package
// ("@q/core"), not its path ("core/src"), so the reference and `{@link @q/core!Queue}` use the
// names users import.
import { readFileSync } from 'node:fs';
import { Converter, ReflectionKind } from 'typedoc';

const packagesDir = new URL('../packages/', import.meta.url);

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (_context, reflection) => {
    if (reflection.kind !== ReflectionKind.Module) return;
    const dir = /^([\w-]+)\/src$/.exec(reflection.name)?.[1];
    if (dir === undefined) return;
    const pkg = JSON.parse(readFileSync(new URL(`${dir}/package.json`, packagesDir), 'utf8'));
    reflection.name = pkg.name;
  });
}

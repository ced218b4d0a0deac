/** Returns the path of `program`, installing Debian package `pkg` with apt-get first if needed (root only). */
export function requireProgram(program: string, pkg: string): string;

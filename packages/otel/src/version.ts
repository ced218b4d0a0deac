/** This package's version, reported as the tracer's version (kept equal to package.json by a test). */
export const VERSION = '0.1.0';

/** The tracer name used when no tracer is given. */
export const TRACER_NAME = '@q/otel';

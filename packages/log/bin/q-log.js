#!/usr/bin/env node
// Replaced by the CLI launcher (issue 14, in progress).
console.error("q-log: the CLI is not written yet");
process.exit(2);

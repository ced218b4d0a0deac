#!/usr/bin/env node
// The `q-http` command: see @q/core's launcher/launch-cli.js for why a committed launcher, and which of
// dist/ and src/ it runs.
import { launchCli } from '@q/core/launch-cli';

await launchCli(import.meta.url, { command: 'q-http', pkg: '@q/http', entry: 'cli/run' });

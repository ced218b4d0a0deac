#!/usr/bin/env node
// The `q-log` command: see @q/core's launcher/launch-cli.js for why a committed launcher, and which of
// dist/ and src/ it runs.
import { launchCli } from '@q/core/launch-cli';

await launchCli(import.meta.url, { command: 'q-log', pkg: '@q/log', entry: 'cli/run' });

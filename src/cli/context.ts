/**
 * Shared set-up for commands: configuration from the environment (plus `--flags`), the logger.
 */
import { hostname } from 'node:os';
import { type Config, flagsToEnv, loadConfig } from '../config/env.ts';
import type { Logger } from '../core/ports.ts';
import { jsonLogger } from '../adapters/node/logger.ts';

/** Reads configuration from process.env overlaid with `--flags`; returns the remaining arguments. */
export function configFromArgs(args: string[]): { config: Config; env: Record<string, string | undefined>; rest: string[]; logger: Logger } {
  const { env: flagEnv, rest } = flagsToEnv(args);
  const env = { ...process.env, ...flagEnv };
  const config = loadConfig(env, { hostname: hostname() });
  return { config, env, rest, logger: jsonLogger(config.logLevel) };
}

// Shared argument parsing for the project's CLIs (bench:*): node:util parseArgs in strict mode,
// so `--help` prints the usage and exits 0, and an unknown or malformed option says which one
// and prints the usage instead of a stack trace (exit 2).
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parse process.argv for a CLI; prints `usage` on --help (exit 0) or on a bad option (exit 2). */
export function parseCli<O extends Options>(usage: string, options: O, argv: string[] = process.argv.slice(2)) {
  try {
    const { values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    if ((values as { help?: boolean }).help) {
      console.log(usage.trim());
      process.exit(0);
    }
    return values as ReturnType<typeof parseArgs<{ options: O }>>['values'];
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n\n${usage.trim()}`);
    process.exit(2);
  }
}

/** A numeric option's value, or exit 2 naming it when it is not a number. */
export function numberArg(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) {
    console.error(`error: --${name} must be a number (got "${value}")`);
    process.exit(2);
  }
  return n;
}

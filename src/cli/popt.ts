// src/cli/popt.ts — argv scanning with the semantics of libpopt as ipvsadm uses it: short clusters
// (-Ln), attached or separate arguments (-t1.2.3.4:80, -t 1.2.3.4:80, --tcp-service=...), optional
// arguments that never start with '-', "--" ending options, and non-options kept as leftovers.
import { ARGV_OPTIONS, type ArgvOption } from './options.js';
import type { PoptError } from './messages.js';

export type ScanResult =
  | { kind: 'option'; option: ArgvOption; arg: string | undefined }
  | { kind: 'end' }
  | { kind: 'error'; error: PoptError };

const findLong = (name: string): ArgvOption | undefined => ARGV_OPTIONS.find((o) => o.long === name);
const findShort = (c: string): ArgvOption | undefined => ARGV_OPTIONS.find((o) => o.short === c);

export class PoptScanner {
  private readonly argv: readonly string[];
  private next = 0;
  private cluster: string | undefined; // the rest of a short-option cluster still to scan
  private restAreLeftovers = false;
  /** Non-option words, in order (poptGetArg hands them out one by one). */
  readonly leftovers: string[] = [];

  /** argv without the program name. */
  constructor(argv: readonly string[]) {
    this.argv = argv;
  }

  /** poptBadOption(POPT_BADOPTION_NOALIAS): the argv word last consumed. */
  badOption(): string {
    return this.argv[this.next - 1] ?? '';
  }

  /** poptGetNextOpt: the next option with its argument, the end, or an error. */
  scan(): ScanResult {
    let option: ArgvOption | undefined;
    let longArg: string | undefined;
    for (;;) {
      if (this.cluster === undefined) {
        if (this.next === this.argv.length) return { kind: 'end' };
        const word = this.argv[this.next++];
        if (this.restAreLeftovers || !word.startsWith('-') || word === '-') {
          this.leftovers.push(word);
          continue;
        }
        if (word === '--') {
          this.restAreLeftovers = true;
          continue;
        }
        const oneDash = word[1] !== '-';
        const body = word.slice(oneDash ? 1 : 2);
        const eq = body.indexOf('=');
        // Single-dash words are never long options here: ipvsadm marks none POPT_ARGFLAG_ONEDASH.
        option = oneDash ? undefined : findLong(eq < 0 ? body : body.slice(0, eq));
        if (!oneDash && !option) return { kind: 'error', error: 'BADOPT' };
        if (option) longArg = eq < 0 ? undefined : body.slice(eq + 1);
        else this.cluster = body;
      }
      if (this.cluster !== undefined) {
        const c = this.cluster[0];
        const rest = this.cluster.slice(1);
        this.cluster = rest === '' ? undefined : rest;
        option = findShort(c);
        if (!option) return { kind: 'error', error: 'BADOPT' };
      }
      break;
    }
    const found = option as ArgvOption;
    if (found.arg === 'none') {
      if (longArg !== undefined || this.cluster?.startsWith('=')) return { kind: 'error', error: 'UNWANTEDARG' };
      return { kind: 'option', option: found, arg: undefined };
    }
    let arg: string | undefined;
    if (longArg !== undefined) arg = longArg;
    else if (this.cluster !== undefined) {
      arg = this.cluster.startsWith('=') ? this.cluster.slice(1) : this.cluster;
      this.cluster = undefined;
    } else if (this.next === this.argv.length) {
      if (found.arg !== 'optional') return { kind: 'error', error: 'NOARG' };
    } else if (found.arg === 'optional' && this.argv[this.next].startsWith('-')) {
      arg = undefined;
    } else arg = this.argv[this.next++];
    return { kind: 'option', option: found, arg };
  }
}

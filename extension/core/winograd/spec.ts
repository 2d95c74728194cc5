/**
 * Recognises Winograd algorithm names in free text, for hovers and notebook cells:
 * F(4,3), F(4, 3), F(2x2,3x3), F(2×2, 3×3), F(4x2, 3x3) (rectangular m x n, r x s).
 */
import type { WinogradRequest } from '../../shared/requests';
import { checkSize } from './toomCook';

export interface WinogradSpecMatch {
  /** Column (UTF-16 code units, as VS Code counts) where the match starts. */
  start: number;
  /** Column just after the match (exclusive). */
  end: number;
  request: WinogradRequest;
  /** The matched text, e.g. "F(2×2, 3×3)". */
  text: string;
}

const TIMES = '[x×X*]';
const SPEC_SOURCE = `\\bF\\(\\s*(\\d{1,4})\\s*(?:${TIMES}\\s*(\\d{1,4})\\s*)?,\\s*(\\d{1,4})\\s*(?:${TIMES}\\s*(\\d{1,4})\\s*)?\\)`;

function requestFrom(groups: (string | undefined)[]): WinogradRequest {
  const m = Number(groups[0]);
  const r = Number(groups[2]);
  const n = groups[1] === undefined ? m : Number(groups[1]);
  const s = groups[3] === undefined ? r : Number(groups[3]);
  checkSize(m, r);
  checkSize(n, s, ['n', 's']);
  return n === m && s === r ? { m, r } : { m, r, n, s };
}

/** Every valid F(...) spec in a line; specs with impossible sizes (F(0,3), alpha too large) are skipped. */
export function findWinogradSpecs(line: string): WinogradSpecMatch[] {
  const matches: WinogradSpecMatch[] = [];
  const pattern = new RegExp(SPEC_SOURCE, 'g');
  for (let match = pattern.exec(line); match !== null; match = pattern.exec(line)) {
    try {
      const request = requestFrom([match[1], match[2], match[3], match[4]]);
      matches.push({ start: match.index, end: match.index + match[0].length, request, text: match[0] });
    } catch {
      // Not a valid algorithm (size 0, alpha too large): not worth a hover.
    }
  }
  return matches;
}

/** Parses text that is exactly one spec (blanks around allowed); throws with a clear message otherwise. */
export function parseWinogradSpec(text: string): WinogradRequest {
  if (typeof text !== 'string') throw new Error('Winograd spec must be text such as "F(4,3)"');
  const match = new RegExp(`^\\s*${SPEC_SOURCE}\\s*$`).exec(text);
  if (!match) {
    throw new Error(`"${text}" is not a Winograd spec: expected F(m,r) or F(m x n, r x s), for example F(4,3) or F(2x2,3x3)`);
  }
  try {
    return requestFrom([match[1], match[2], match[3], match[4]]);
  } catch (error) {
    throw new Error(`"${text}": ${(error as Error).message}`);
  }
}

/**
 * One tracked suggestion: what the outcome tracker knows of it, the rules' numbers, and the steps that change
 * only it (typed over, the decision, the accept and its region, the retention check, the capture), each giving
 * the patch it makes for the tracker to send. Which step an event takes, and when, is the tracker's state
 * machine (outcome-tracker.ts).
 */
import { similarity } from '../engine/fusion/similarity.js';
import type { OutcomePatch, OutcomeSignal } from './outcome-patch.js';
import { captureText, lineCount, matchAt, retentionDistanceRatio } from './outcome-text.js';
import type { FeedbackLabel } from './record.js';
import { Region } from './region.js';

export interface ShownSuggestion {
  readonly id: string;
  /** The text shown, as inserted at `offset` ('\n' line breaks; a CRLF document's '\r\n' matches them). */
  readonly text: string;
  /** Where it goes: a UTF-16 offset in the document's current text. */
  readonly offset: number;
  /** When it was shown; now() when absent. */
  readonly shownAt?: number;
  /** false at `noCode`: the capture patch then carries only `capturedSimilarity`, no text. */
  readonly recordText?: boolean;
}

/** What the tracker holds about a suggestion now. */
export interface TrackedOutcome {
  readonly label: FeedbackLabel;
  readonly acceptedLength?: number;
  readonly signal?: OutcomeSignal;
  /** Its offset, followed through the edits. */
  readonly offset: number;
  readonly visible: boolean;
  readonly typedOver: boolean;
  /** Where its accepted text stands (followed), when accepted. */
  readonly region?: { readonly start: number; readonly end: number };
}

/** A suggestion typed over sooner than this after it appeared was not read: no rejection. */
export const SEEN_MS = 250;
/** A typed-over suggestion not accepted by then is rejected. */
export const DECISION_MS = 10_000;
/** The code at the suggestion's place is captured this long after it was shown. */
export const CAPTURE_MS = 30_000;
/** Retention is checked this many seconds after the accept. */
export const RETENTION_AFTER_S: readonly number[] = [30, 120, 600];
/** Retained: edit distance over the accepted length at most this (Copilot's threshold). */
export const RETAINED_MAX_RATIO = 0.5;
/** How long after showing an edit can still be a suggestion's accept. */
export const ACCEPT_BY_EDIT_MS = 5 * 60_000;
/** A text shorter than this is too likely typed by chance to count as accepted by an edit. */
export const MIN_EDIT_ACCEPT_CHARS = 2;

export interface Accepted {
  /** The first accept. */
  readonly at: number;
  readonly region: Region;
  /** Accepted before its text was seen in the document. */
  awaiting: boolean;
  /** Retention checks done. */
  checks: number;
}

export interface Entry {
  readonly id: string;
  readonly uri: string;
  readonly text: string;
  readonly shownAt: number;
  readonly lines: number;
  readonly recordText: boolean;
  /** The offset, followed. */
  anchor: number;
  /** What the user typed at the place (grows at its end). */
  readonly typed: Region;
  /** Characters of the text standing at the anchor, as last measured. */
  typedAlong: number;
  /** Since when its text has been on screen (carried over from a suggestion it continues). */
  visibleSince: number;
  visible: boolean;
  typedOverAt?: number;
  label: FeedbackLabel;
  signal?: OutcomeSignal;
  acceptedLength: number;
  accepted?: Accepted;
  decisionDue?: number;
  captureDue?: number;
  captured: boolean;
  /** Bumped on every reschedule: queue items of older generations are stale. */
  gen: number;
}

/** A suggestion just shown in the document of `uri`, whose current text is `text`: pending and visible. */
export function newEntry(uri: string, suggestion: ShownSuggestion, text: string, shownAt: number): Entry {
  const offset = Math.max(0, Math.min(suggestion.offset, text.length));
  return {
    id: suggestion.id,
    uri,
    text: suggestion.text,
    shownAt,
    lines: lineCount(suggestion.text),
    recordText: suggestion.recordText ?? true,
    anchor: offset,
    typed: new Region(offset, offset, true),
    typedAlong: matchAt(text, offset, suggestion.text).text,
    visibleSince: shownAt,
    visible: true,
    label: 'ignored',
    acceptedLength: 0,
    decisionDue: shownAt + DECISION_MS,
    captureDue: shownAt + CAPTURE_MS,
    captured: false,
    gen: 0,
  };
}

/**
 * `next` was shown after it in its document: it leaves the screen. When `next` continues it (the same text at
 * the same place, or its rest after what was typed along it), `next` has been on screen since it was.
 */
export function succeededBy(previous: Entry, next: Entry, text: string): void {
  if (!previous.visible) return;
  previous.visible = false;
  if (previous.label === 'ignored' && previous.typedOverAt === undefined) {
    const along = matchAt(text, previous.anchor, previous.text, next.anchor);
    if (previous.anchor + along.doc === next.anchor && previous.text.slice(along.text) === next.text) {
      next.visibleSince = previous.visibleSince;
    }
  }
}

export function outcomeOf(e: Entry): TrackedOutcome {
  return {
    label: e.label,
    acceptedLength: e.accepted ? e.acceptedLength : undefined,
    signal: e.signal,
    offset: e.anchor,
    visible: e.visible,
    typedOver: e.typedOverAt !== undefined,
    region: e.accepted ? { start: e.accepted.region.start, end: e.accepted.region.end } : undefined,
  };
}

/** Whether an edit can still be its accept: pending or partly accepted, and shown at most 5 min ago. */
export function acceptableByEdit(entry: Entry, now: number): boolean {
  return (entry.label === 'ignored' || entry.label === 'partlyAccepted') && now - entry.shownAt <= ACCEPT_BY_EDIT_MS;
}

/**
 * Where this edit accepted it: the place (its followed offset, else `anchorBefore`, its offset before the
 * didChange) where its whole text now stands, with at least MIN_EDIT_ACCEPT_CHARS of it brought by the edit.
 * Measures `typedAlong` again on the way.
 */
export function editAcceptPlace(entry: Entry, text: string, anchorBefore: number): { pos: number; doc: number } | undefined {
  const before = entry.typedAlong;
  const length = entry.text.length;
  let found: { pos: number; doc: number } | undefined;
  const places = entry.anchor === anchorBefore ? [entry.anchor] : [entry.anchor, anchorBefore];
  for (const pos of places) {
    const m = matchAt(text, pos, entry.text);
    if (pos === entry.anchor) entry.typedAlong = m.text;
    if (m.text === length) {
      found = { pos, doc: m.doc };
      break;
    }
  }
  return found && length >= MIN_EDIT_ACCEPT_CHARS && length - before >= MIN_EDIT_ACCEPT_CHARS ? found : undefined;
}

/** An edit inserted at its place, `typedAt` from its offset: typed out to its end, along it, or over it. */
export function typedThere(entry: Entry, typedAt: number, text: string, now: number): void {
  const m = matchAt(text, entry.anchor, entry.text, entry.typed.end);
  if (m.text === entry.text.length) {
    // Typed out to its end: nothing left on screen to reject.
    entry.visible = false;
    return;
  }
  if (typedAt >= 0 && m.doc > typedAt) return;
  entry.visible = false;
  if (now - entry.visibleSince >= SEEN_MS) entry.typedOverAt = now;
}

/** The decision deadline (or the close): a typed-over suggestion still pending is rejected (the patch). */
export function decide(entry: Entry, at: number): OutcomePatch | undefined {
  entry.visible = false;
  entry.decisionDue = undefined;
  if (entry.label !== 'ignored' || entry.typedOverAt === undefined) return undefined;
  entry.label = 'rejected';
  entry.signal = 'typed-over';
  return { label: 'rejected', signal: 'typed-over', decidedAt: at };
}

/** An outcome arrived: the suggestion is no longer on screen, and no longer waits for its deadline. */
export function settle(entry: Entry, now: number): void {
  entry.visible = false;
  entry.decisionDue = undefined;
  if (entry.label !== 'rejected' && !entry.accepted && entry.captured) entry.captureDue = now + CAPTURE_MS;
}

/** Accepted by an edit that put its whole text at `pos` (`docLength` characters of the document). */
export function acceptByEdit(entry: Entry, pos: number, docLength: number, now: number): OutcomePatch {
  const patch: OutcomePatch = { label: 'accepted', acceptedLength: entry.text.length, signal: 'edit', decidedAt: now };
  entry.label = 'accepted';
  entry.signal = 'edit';
  entry.acceptedLength = entry.text.length;
  entry.anchor = pos;
  settle(entry, now);
  setRegion(entry, pos, pos + docLength, now);
  return patch;
}

function setRegion(entry: Entry, start: number, end: number, now: number): void {
  if (entry.accepted) {
    entry.accepted.region.start = start;
    entry.accepted.region.end = end;
    entry.accepted.awaiting = false;
  } else entry.accepted = { at: now, region: new Region(start, end), awaiting: false, checks: 0 };
}

/** Until its accepted part is found in the document, the region waits empty at the offset. */
export function awaitAccepted(entry: Entry, now: number): void {
  if (entry.accepted) entry.accepted.awaiting = true;
  else entry.accepted = { at: now, region: new Region(entry.anchor, entry.anchor), awaiting: true, checks: 0 };
}

/** Finds the accepted part in the document (at its region, its offset or `otherPos`) and sets the region there. */
export function locateAccepted(entry: Entry, text: string, otherPos: number, now: number): boolean {
  const part = entry.text.slice(0, entry.acceptedLength);
  const candidates = entry.accepted ? [entry.accepted.region.start, entry.anchor, otherPos] : [entry.anchor, otherPos];
  for (const pos of candidates) {
    const m = matchAt(text, pos, part);
    if (m.text === part.length) {
      setRegion(entry, pos, pos + m.doc, now);
      return true;
    }
  }
  return false;
}

/** When its next retention check is due; undefined when all are done. */
export function retentionDue(accepted: Accepted): number | undefined {
  const afterS = RETENTION_AFTER_S[accepted.checks];
  return afterS === undefined ? undefined : accepted.at + afterS * 1000;
}

/** The next retention check (the caller counts it done), on the document's `text`. */
export function retentionCheck(entry: Entry, text: string): OutcomePatch {
  const afterS = RETENTION_AFTER_S[entry.accepted!.checks]!;
  const distanceRatio = retentionDistanceRatio(entry.text.slice(0, entry.acceptedLength), text, entry.accepted!.region);
  return { retentionCheck: { afterS, distanceRatio, retained: distanceRatio <= RETAINED_MAX_RATIO } };
}

/** The capture, on the document's `text`: its region when wholly accepted, else what was typed at its place. */
export function capture(entry: Entry, text: string, maxChars: number): OutcomePatch {
  const whole = entry.label === 'accepted' ? entry.accepted : undefined;
  const captured = whole
    ? captureText(text, whole.region, maxChars)
    : captureText(text, entry.typed, maxChars, entry.lines);
  const capturedSimilarity = similarity(entry.text, captured);
  return entry.recordText ? { captured, capturedSimilarity } : { capturedSimilarity };
}

/** Its earliest deadline: the decision, the capture or the next retention check; undefined when none is left. */
export function deadline(entry: Entry): number | undefined {
  let due = Infinity;
  if (entry.decisionDue !== undefined) due = Math.min(due, entry.decisionDue);
  if (entry.captureDue !== undefined) due = Math.min(due, entry.captureDue);
  const retention = entry.accepted && retentionDue(entry.accepted);
  if (retention !== undefined) due = Math.min(due, retention);
  return due === Infinity ? undefined : due;
}

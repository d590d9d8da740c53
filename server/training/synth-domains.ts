/**
 * Topics for `xencode dataset synth`: each request names one, so the models write about different things. The order
 * is a seeded shuffle: the same --seed asks for the same topics in the same order, another seed for others.
 */
import { seededRandom } from '../text/seeded-random.js';

export const SYNTH_DOMAINS: readonly string[] = [
  'invoices, discounts and tax',
  'retrying HTTP requests with backoff',
  'date ranges and calendars',
  'warehouse inventory levels',
  'parsing CSV lines with quoted fields',
  'user roles and permissions',
  'a cache with expiry times',
  'vectors and matrices',
  'shopping cart totals',
  'analysing web server log lines',
  'rate limiting requests per client',
  'ordering tasks by their dependencies',
  'filling in text templates',
  'converting units of measurement',
  'paging through API results',
  'scheduling recurring events',
  'statistics over sensor readings',
  'validating a sign-up form',
  'manipulating file paths',
  'ranking players on a leaderboard',
  'the rules of a board game',
  'bank account transactions',
  'building and parsing URL query strings',
  'points, rectangles and polygons',
  'a job queue with priorities',
  'merging configuration objects',
  'comparing two lists of records',
  'time zones and timestamps',
  'word counts and text statistics',
  'a to-do list with due dates',
  'hotel room bookings',
  'splitting a bill between friends',
  'grading student scores',
  'tracking package deliveries',
  'semantic version numbers',
  'a library lending books',
  'flight seat allocation',
  'recipe ingredient scaling',
  'password strength rules',
  'aggregating sales by region',
];


/** The domains in the seed's order (Fisher–Yates); requests take them in turn and start over when they run out. */
export function domainOrder(seed: number, domains: readonly string[] = SYNTH_DOMAINS): string[] {
  const random = seededRandom(seed);
  const order = [...domains];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

// What one web UI page view may cost: storage operations (the UI test counts them against a
// repository of 5,000 tags), document bytes read and parsed, and rows and characters
// rendered. A pusher controls what the pages show, and any anonymous GET repeats a page, so
// each page has a fixed ceiling whatever the bucket holds. The largest document a page reads
// is the registry's own manifest limit (config.ts, maxManifestBytes); the isolate's peak for
// the worst legal content is read in test/e2e/ui-memory.test.ts (at most 96 MiB of 128 MB).
const MiB = 1024 * 1024;

export const LIMITS = {
  /** Repositories per page; each costs a tag count and a usage read. */
  repositories: 25,
  /** Catalog list calls (1,000 names each) one page view may spend to fill a page. */
  catalogScanCalls: 5,
  /** Tags per repository page; each distinct manifest among them costs one read. */
  tags: 50,
  /** Index entries whose manifests an index page reads to show their layers. */
  children: 16,
  referrers: 50,
  /** Descriptor bytes of the referrers shown (the API's page cap). */
  referrerBytes: 256 * 1024,
  uploads: 20,
  reports: 10,
  /** Manifest and config bytes one page view reads in all: six documents of the largest
   *  size. Ordinary manifests are a few KiB, so only hostile content meets it; what is past
   *  it is shown as not read. It bounds the CPU a view spends parsing (about 10 ms a MiB). */
  readBytes: 24 * MiB,
  /** Documents a page reads and parses at once. Parsing a 4 MiB manifest of 26,000 layers
   *  holds its bytes, its text and its objects, about 20 MiB, until the page keeps only the
   *  few fields it shows; two at a time leave the rest of the isolate's 128 MB to others. */
  readsInFlight: 2,
  /** Rows one table shows (layers, history, environment, labels, annotations): a 4 MiB
   *  manifest may repeat one layer 26,000 times; the rest is stated as a count. */
  rows: 100,
  /** Layer rows shown per platform on an index page, which shows up to `children` of them. */
  platformRows: 20,
  /** Platform names a repository page lists for an index. */
  platformNames: 8,
  /** Characters shown of any one string (a label, a command, an annotation). */
  textChars: 1024,
};

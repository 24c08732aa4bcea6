// What one web UI page view may cost. What a page reads (storage operations, document bytes)
// is bounded by the core functions it calls, each owning its bound, so any front end gets the
// same (the UI test counts the operations against a repository of 5,000 tags); they are named
// here for the pages that say them. What a page renders (rows and characters) is the UI's
// own: a pusher controls what the pages show, and any anonymous GET repeats a page, so each
// page has a fixed ceiling whatever the bucket holds.
import { MAX_SCANNED_PAGES, VIEW_RECENT_ACTIVITY } from "../registry/activity";
import { BROWSE_PAGE_REPOSITORIES, BROWSE_SCAN_PAGES } from "../registry/catalog";
import { VIEW_REPORTS } from "../registry/collection";
import { VIEW_INDEX_ENTRIES, VIEW_READ_BYTES } from "../registry/manifests";
import { BROWSE_PAGE_TAGS } from "../registry/tags";
import { VIEW_UPLOAD_SESSIONS } from "../registry/uploads";

export const LIMITS = {
  /** Read bounds, the core's (registry/catalog.ts, tags.ts, manifests.ts, collection.ts,
   *  uploads.ts). */
  repositories: BROWSE_PAGE_REPOSITORIES,
  catalogScanCalls: BROWSE_SCAN_PAGES,
  tags: BROWSE_PAGE_TAGS,
  children: VIEW_INDEX_ENTRIES,
  readBytes: VIEW_READ_BYTES,
  uploads: VIEW_UPLOAD_SESSIONS,
  reports: VIEW_REPORTS,
  /** A repository page's recent activity: at most this many events read, after at most
   *  activityScanCalls listings of the log (registry/activity.ts). */
  recentActivity: VIEW_RECENT_ACTIVITY,
  activityScanCalls: MAX_SCANNED_PAGES,
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

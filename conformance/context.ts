// What every check group receives: the client, its group in the report, and repository
// names under this run's own namespace, so runs never see each other's content.
import type { RegistryClient } from "./client";
import type { Group } from "./reporter";

export interface RunContext {
  client: RegistryClient;
  group: Group;
  /** A repository under the run's namespace: `<namespace>/<suffix>`. */
  repo(suffix: string): string;
  namespace: string;
  /** Whether credentials were given (then anonymous requests must be challenged). */
  authenticated: boolean;
}

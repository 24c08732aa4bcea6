// Whether a caller may delete in a repository: the one rule the API's DELETE routes enforce
// and the web UI asks before it offers a Delete link, so the two never disagree.
import type { Identity } from "../auth/identity";
import type { Config } from "../config";
import { RegistryError } from "../errors";
import { mirrorWriteRefusal } from "./deps";

/** Why a delete is refused: the caller lacks the right, the repository mirrors an upstream
 *  read-only, or this registry takes no deletes at all. */
export type DeleteRefusal = "rights" | "mirror" | "disabled";

export type DeleteDecision =
  | { allowed: true }
  | { allowed: false; why: DeleteRefusal; code: "DENIED" | "UNSUPPORTED"; reason: string };

/** Checked in the API's order: rights first (so a caller learns nothing of a repository it
 *  may not touch), then the mirror, then DELETES_ENABLED. */
export function deletePolicy(config: Config, identity: Pick<Identity, "allows">, repo: string): DeleteDecision {
  if (!identity.allows(repo, "delete"))
    return { allowed: false, why: "rights", code: "DENIED", reason: `You may not delete in ${repo}.` };
  const mirror = mirrorWriteRefusal(config, repo);
  if (mirror) return { allowed: false, why: "mirror", code: "DENIED", reason: mirror };
  if (!config.deletesEnabled)
    return { allowed: false, why: "disabled", code: "UNSUPPORTED", reason: "deletes are disabled on this registry" };
  return { allowed: true };
}

/** The policy as the API's error: DENIED or UNSUPPORTED with the reason. */
export function refuseDelete(config: Config, identity: Pick<Identity, "allows">, repo: string): void {
  const decision = deletePolicy(config, identity, repo);
  if (!decision.allowed) throw new RegistryError(decision.code, decision.reason);
}

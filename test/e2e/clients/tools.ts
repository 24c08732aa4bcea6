// Wrappers that give each client the flags this machine needs: TLS checks off (the local
// runtime speaks plain HTTP), private auth and storage directories so runs do not share state
// with the user's, and vfs storage.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { containerdAddress } from "./availability";
import { run, runOk, type RunResult } from "./run";

/** Private config for skopeo, podman and buildah under `work`. */
export class ContainersTools {
  private readonly env: Record<string, string>;
  private readonly storage: string[];

  constructor(readonly work: string) {
    mkdirSync(work, { recursive: true });
    const registries = join(work, "registries.conf");
    writeFileSync(registries, "unqualified-search-registries = []\n");
    const policy = join(work, "policy.json");
    writeFileSync(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
    // buildah and podman refuse a REGISTRY_AUTH_FILE that does not exist yet.
    writeFileSync(join(work, "auth.json"), "{}");
    this.env = {
      REGISTRY_AUTH_FILE: join(work, "auth.json"),
      CONTAINERS_REGISTRIES_CONF: registries,
      CONTAINERS_POLICY_JSON: policy,
      SIGNATURE_POLICY: policy,
    };
    this.storage = ["--root", join(work, "storage"), "--runroot", join(work, "run"), "--storage-driver", "vfs"];
  }

  skopeo(args: string[]): Promise<RunResult> {
    return runOk("skopeo", this.skopeoArgs(args), { env: this.env });
  }

  /** Like skopeo, but returns a failing result instead of throwing (for expected refusals). */
  attemptSkopeo(args: string[]): Promise<RunResult> {
    return run("skopeo", this.skopeoArgs(args), { env: this.env });
  }

  private skopeoArgs(args: string[]): string[] {
    return ["--policy", this.env.CONTAINERS_POLICY_JSON!, ...args];
  }

  buildah(args: string[]): Promise<RunResult> {
    return runOk("buildah", [...this.storage, ...args], { env: this.env });
  }

  podman(args: string[]): Promise<RunResult> {
    return runOk("podman", this.podmanArgs(args), { env: this.env });
  }

  /** Like podman, but returns a failing result instead of throwing (for expected refusals). */
  attemptPodman(args: string[]): Promise<RunResult> {
    return run("podman", this.podmanArgs(args), { env: this.env });
  }

  private podmanArgs(args: string[]): string[] {
    return [...this.storage, "--cgroup-manager", "cgroupfs", "--events-backend", "file", ...args];
  }
}

/** The docker CLI with its own config directory, so logins stay per scenario. */
export class DockerCli {
  constructor(readonly configDir: string) {
    mkdirSync(configDir, { recursive: true });
  }

  run(args: string[], options: { input?: string } = {}): Promise<RunResult> {
    return runOk("docker", ["--config", this.configDir, ...args], options);
  }

  /** Like run, but returns a failing result instead of throwing (for expected refusals). */
  attempt(args: string[], options: { input?: string } = {}): Promise<RunResult> {
    return run("docker", ["--config", this.configDir, ...args], options);
  }

  login(host: string, username: string, password: string): Promise<RunResult> {
    return this.attempt(["login", host, "--username", username, "--password-stdin"], { input: password });
  }
}

/** containerd's ctr in its own namespace, with a hosts dir naming the registry's plain-HTTP
 *  address (ctr, unlike docker, does not fall back from https by itself). */
export class Ctr {
  readonly hostsDir: string;

  constructor(
    work: string,
    host: string,
    readonly namespace: string,
  ) {
    this.hostsDir = join(work, "hosts.d");
    mkdirSync(join(this.hostsDir, host), { recursive: true });
    const toml = `server = "http://${host}"\n\n[host."http://${host}"]\n  capabilities = ["pull", "resolve"]\n`;
    writeFileSync(join(this.hostsDir, host, "hosts.toml"), toml);
  }

  run(args: string[]): Promise<RunResult> {
    return runOk("ctr", ["--address", containerdAddress() ?? "", "--namespace", this.namespace, ...args]);
  }

  /** `ctr images pull` of `name` through the hosts dir, with `credentials` ("user:password"),
   *  unpacked with the native snapshotter (no overlay here); `extra` before the name. */
  pull(name: string, credentials: string, extra: string[] = []): Promise<RunResult> {
    const flags = ["--hosts-dir", this.hostsDir, "--user", credentials, "--snapshotter", "native"];
    return this.run(["images", "pull", ...flags, ...extra, name]);
  }
}

/** crane (go-containerregistry) with its own docker config directory for `crane auth login`.
 *  It speaks plain HTTP to 127.0.0.1 by itself (after one refused TLS attempt). */
export class Crane {
  private readonly env: Record<string, string>;

  constructor(configDir: string) {
    mkdirSync(configDir, { recursive: true });
    this.env = { DOCKER_CONFIG: configDir };
  }

  run(args: string[], options: { input?: string } = {}): Promise<RunResult> {
    return runOk("crane", args, { ...options, env: this.env });
  }
}

/** oras with a private credentials file and plain HTTP (`cp` takes its own two flags). */
export class Oras {
  private readonly config: string;

  constructor(work: string) {
    mkdirSync(work, { recursive: true });
    this.config = join(work, "oras-auth.json");
  }

  run(args: string[], options: { input?: string; cwd?: string } = {}): Promise<RunResult> {
    const flags =
      args[0] === "cp"
        ? [
            "--from-plain-http",
            "--to-plain-http",
            "--from-registry-config",
            this.config,
            "--to-registry-config",
            this.config,
          ]
        : ["--plain-http", "--registry-config", this.config];
    return runOk("oras", [...args, ...flags], options);
  }
}

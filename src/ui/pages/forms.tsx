// The pages around forms: sign-in, the confirmation before a delete, and errors.
import { CsrfField, Layout, manifestHref, Notice, repoHref, type PageUser } from "../components";

export function LoginPage({
  csrf,
  error,
  next,
  unavailable,
}: {
  csrf: string;
  error: string | null;
  next: string;
  unavailable: string | null;
}) {
  return (
    <Layout
      title="Sign in"
      user={null}
      crumbs={[
        ["Repositories", "/"],
        ["Sign in", null],
      ]}
    >
      <form class="login" method="post" action="/-/login">
        <h1>Sign in</h1>
        <p class="muted">
          Use the same username and password as <code>docker login</code>.
        </p>
        {error ? <Notice kind="error">{error}</Notice> : null}
        {unavailable ? <Notice kind="error">{unavailable}</Notice> : null}
        <CsrfField token={csrf} />
        <input type="hidden" name="next" value={next} />
        <p>
          <label for="username">Username</label>
          <input type="text" id="username" name="username" autocomplete="username" required autofocus />
        </p>
        <p>
          <label for="password">Password</label>
          <input type="password" id="password" name="password" autocomplete="current-password" required />
        </p>
        <button type="submit">Sign in</button>
      </form>
    </Layout>
  );
}

export interface ConfirmProps {
  user: PageUser;
  repo: string;
  target: { tag: string } | { digest: string };
}

export function ConfirmDeletePage({ user, repo, target }: ConfirmProps) {
  const isTag = "tag" in target;
  const what = isTag ? `tag ${target.tag}` : `manifest ${target.digest}`;
  const back = isTag ? repoHref(repo) : manifestHref(repo, target.digest);
  return (
    <Layout
      title={`Delete ${what}`}
      user={user}
      crumbs={[
        ["Repositories", "/"],
        [repo, repoHref(repo)],
        ["Delete", null],
      ]}
    >
      <h1>Delete {isTag ? "tag" : "manifest"}?</h1>
      <p>
        {isTag
          ? `The tag ${repo}:${target.tag} will be removed. The manifest it points to stays, reachable by digest and by its other tags, until the garbage collector frees it.`
          : `The manifest ${repo}@${target.digest} will be removed, with every tag that points to it. Pulls by that digest will fail.`}
      </p>
      <form method="post" action={`${repoHref(repo)}/-/delete`} class="actions">
        <CsrfField token={user.csrf} />
        {isTag ? (
          <input type="hidden" name="tag" value={target.tag} />
        ) : (
          <input type="hidden" name="digest" value={target.digest} />
        )}
        <button type="submit" class="danger">
          Delete {what}
        </button>
        <a class="button secondary" href={back}>
          Cancel
        </a>
      </form>
    </Layout>
  );
}

export function ErrorPage({
  user,
  repo,
  status,
  title,
  detail,
}: {
  user: PageUser | null;
  /** The repository the failed page was about, kept in the breadcrumb as a way back. */
  repo: string | null;
  status: number;
  title: string;
  detail: string;
}) {
  return (
    <Layout
      title={title}
      user={user}
      crumbs={[["Repositories", "/"], ...(repo ? [[repo, repoHref(repo)] as [string, string]] : []), [title, null]]}
    >
      <h1>{title}</h1>
      <p>{detail}</p>
      <p class="muted">HTTP {status}</p>
    </Layout>
  );
}

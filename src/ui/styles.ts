// The web UI's stylesheet, its one small script and its icon, bundled with the Worker (nothing comes
// from a CDN). Colours follow the system's light or dark setting; every text colour keeps a
// contrast of 4.5:1 or more against its background (axe-core checks it in the browser test).

export const CSS = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328; --muted: #57606a; --line: #d0d7de;
  --panel: #f6f8fa; --link: #0550ae; --accent: #0550ae; --accent-fg: #ffffff; --danger: #b3261e;
  --danger-fg: #ffffff; --ok: #116329; --code: #eff2f5; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9da7b3; --line: #30363d; --panel: #161b22;
    --link: #79b8ff; --accent: #1f6feb; --accent-fg: #ffffff; --danger: #f85149; --danger-fg: #0d1117;
    --ok: #56d364; --code: #1c2128; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); line-height: 1.5;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, summary:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; z-index: 2; }
header.top { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: center; padding: 10px 20px;
  border-bottom: 1px solid var(--line); background: var(--panel); }
header.top .brand { font-weight: 700; color: var(--fg); text-decoration: none; font-size: 1.1rem; }
header.top nav ul { display: flex; gap: 16px; list-style: none; margin: 0; padding: 0; }
header.top .who { margin-left: auto; display: flex; gap: 12px; align-items: center; color: var(--muted); }
main { max-width: 1200px; margin: 0 auto; padding: 16px 20px 48px; }
h1 { font-size: 1.6rem; margin: 8px 0 16px; word-break: break-all; }
h2 { font-size: 1.25rem; margin: 28px 0 10px; }
h3 { font-size: 1.05rem; margin: 18px 0 8px; }
nav.crumbs ol { list-style: none; display: flex; flex-wrap: wrap; gap: 4px; padding: 0; margin: 0; color: var(--muted); }
nav.crumbs li + li::before { content: "/"; margin-right: 4px; }
.muted { color: var(--muted); }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
tr:last-child td { border-bottom: none; }
th { background: var(--panel); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
code { background: var(--code); padding: 1px 4px; border-radius: 4px; word-break: break-all; }
pre { background: var(--code); padding: 10px; border-radius: 6px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
.copy { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 6px 0; }
.copy code { flex: 1; padding: 6px 8px; }
button, .button { font: inherit; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: var(--accent-fg); cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: transparent; color: var(--link); }
button.danger, .button.danger { background: var(--danger); border-color: var(--danger); color: var(--danger-fg); }
.link-button { background: none; border: none; color: var(--link); text-decoration: underline; padding: 0; }
form.inline { display: inline; }
.search { display: flex; gap: 8px; flex-wrap: wrap; align-items: end; margin-bottom: 16px; }
.search label, .login label { display: block; font-weight: 600; margin-bottom: 4px; }
input[type=text], input[type=password], input[type=search] { font: inherit; padding: 6px 10px; border-radius: 6px;
  border: 1px solid var(--muted); background: var(--bg); color: var(--fg); min-width: 16rem; max-width: 100%; }
select { font: inherit; padding: 6px 10px; border-radius: 6px; border: 1px solid var(--muted); background: var(--bg); color: var(--fg); }
.login { max-width: 22rem; margin: 40px auto; padding: 24px; border: 1px solid var(--line); border-radius: 8px; background: var(--panel); }
.login p { margin: 0 0 14px; }
.notice { padding: 10px 14px; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); margin: 12px 0; }
.notice.error { border-color: var(--danger); }
.notice.ok { border-color: var(--ok); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; word-break: break-all; }
.pager { display: flex; gap: 16px; margin: 12px 0; }
details > summary { cursor: pointer; }
.badge { display: inline-block; padding: 0 6px; border: 1px solid var(--line); border-radius: 10px; font-size: 0.85em; color: var(--muted); }
.actions { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.badge { overflow-wrap: anywhere; max-width: 100%; }
nav.crumbs li { overflow-wrap: anywhere; min-width: 0; }
/* Below 640 px every table becomes a stack of cards, one per row, each cell on its own line
   after its column's name (the cell's data-label), so no column is pushed off screen or
   hidden behind a sideways scroll. The header row stays for screen readers only. */
@media (max-width: 640px) {
  main { padding: 12px 12px 40px; } header.top { padding: 8px 12px; } h1 { font-size: 1.3rem; }
  input[type=text], input[type=password], input[type=search], select { min-width: 0; width: 100%; }
  .filters > div { flex: 1 1 100%; }
  .table-wrap { overflow-x: visible; border: none; border-radius: 0; }
  .table-wrap table, .table-wrap tbody, .table-wrap tr, .table-wrap td { display: block; width: 100%; }
  .table-wrap thead { position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }
  .table-wrap tr { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 8px; padding: 6px 10px; }
  .table-wrap td, .table-wrap td.num { border: none; padding: 2px 0; text-align: left; white-space: normal; overflow-wrap: anywhere; }
  .table-wrap td[data-label]::before { content: attr(data-label); display: inline-block; min-width: 6.5rem;
    margin-right: 8px; font-weight: 600; color: var(--muted); }
}
`;

/** Progressive: copy buttons beside pull commands. Without JavaScript the commands are
 *  plain selectable text. The clipboard API exists only in a secure context (https or
 *  loopback); elsewhere, or when the browser refuses, the button selects the command and
 *  says how to copy it, rather than doing nothing. */
export const SCRIPT = `
document.querySelectorAll("[data-copy]").forEach(function (code) {
  var button = document.createElement("button");
  button.type = "button"; button.className = "secondary"; button.textContent = "Copy";
  button.setAttribute("aria-label", "Copy: " + code.textContent);
  var said = document.createElement("span");
  said.className = "muted"; said.setAttribute("aria-live", "polite");
  function selectInstead() {
    var range = document.createRange(); range.selectNodeContents(code);
    var selection = window.getSelection(); selection.removeAllRanges(); selection.addRange(range);
    said.textContent = "Selected: press Ctrl+C (\u2318C on a Mac) to copy";
  }
  button.addEventListener("click", function () {
    if (!window.isSecureContext || !navigator.clipboard) return selectInstead();
    navigator.clipboard.writeText(code.textContent).then(function () {
      said.textContent = "Copied"; setTimeout(function () { said.textContent = ""; }, 1500);
    }, selectInstead);
  });
  code.parentNode.appendChild(button); code.parentNode.appendChild(said);
});
`;
/** The tab icon: three stacked layers, in the UI's accent colour. Without one, browsers ask
 *  for /favicon.ico on every page and log a 404. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="6" fill="#0550ae"/>
<path d="M16 6 27 11 16 16 5 11Z" fill="#fff"/>
<path d="M5 16l11 5 11-5M5 21l11 5 11-5" fill="none" stroke="#fff" stroke-width="2" stroke-linejoin="round"/>
</svg>`;

/**
 * The viewer's HTML and stylesheet: markup only. The script is the compiled client (src/web/client),
 * served as files under /s/TOKEN/ so its relative imports carry the token; the modules main.js
 * imports are preloaded, so they load together instead of one after another.
 */

export const STYLE = `
*{box-sizing:border-box}body{margin:0;font:12px system-ui,sans-serif;color:#222;background:#fafafa;display:flex;flex-direction:column;height:100vh}
header{display:flex;gap:8px;align-items:center;padding:4px 8px;background:#263238;color:#eee;flex-wrap:wrap}
header b{font-size:14px}header input{width:150px}header button{cursor:pointer}
main{flex:1;display:flex;min-height:0}
#tl{flex:1;position:relative;min-width:0}
canvas{display:block;width:100%;height:100%;cursor:crosshair}
aside{width:340px;overflow:auto;border-left:1px solid #ccc;padding:6px;background:#fff}
aside h3{margin:6px 0 4px;font-size:13px}
table{border-collapse:collapse;font-size:11px}td,th{padding:1px 6px;text-align:left;border-bottom:1px solid #eee}td.n{text-align:right}
#status{margin-left:auto;font-size:11px;color:#b0bec5}
#tip{position:absolute;pointer-events:none;background:#263238;color:#fff;padding:3px 6px;font-size:11px;border-radius:3px;display:none;z-index:3;white-space:pre}
.finding{border-left:3px solid #d32f2f;padding:2px 6px;margin:4px 0;background:#ffebee;cursor:pointer}
.finding.uncertain{border-left-color:#9e9e9e;background:#f5f5f5}
pre{white-space:pre-wrap;font-size:11px;margin:2px 0}
`;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function viewerPage(title: string, token: string): string {
  const base = `/s/${encodeURIComponent(token)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}/style.css">
${['client/draw.js', 'client/tracks.js', 'client/url-state.js', 'schema.js'].map((f) => `<link rel="modulepreload" href="${base}/${f}">`).join('\n')}
<script type="module" src="${base}/client/main.js"></script>
</head><body>
<header><b>lkst view</b><span>${esc(title)}</span>
<input id="task" placeholder="filter tasks (comm or pid)">
<input id="cpu" placeholder="CPUs (0,2)">
<input id="q" placeholder="search: sched_switch next_comm=dd" title="words match the event name; name=value a field, pid, cpu or comm">
<button id="prev" title="previous match (shift+n)">&lt;</button><button id="next" title="next match (n)">&gt;</button>
<button id="all" title="whole trace (0)">all</button>
<span id="status">loading...</span></header>
<main><div id="tl"><canvas id="cv"></canvas><div id="tip"></div></div>
<aside><h3 id="evtitle">click an event</h3><div id="detail"></div><h3>Findings</h3><div id="findings">computing...</div><h3>Summary</h3><div id="summary">computing...</div></aside></main>
</body></html>`;
}

// The dashboard's HTML. Every value is written through esc() (text and attributes alike); the pages'
// small scripts write what they poll with textContent only, and run under a per-response CSP nonce, so
// a version, a name or a reason can never become markup. The chart is an <img> of an SVG: an image's
// scripts never run.
import type { ReleaseRow, ReleaseView } from './view';
import { DASHBOARD_COMMANDS, RELEASE_STRATEGIES } from './actions';

export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface Flash {
  ok: boolean;
  message: string;
}

export interface PageContext {
  nonce: string;
  person: string;
  csrf: string;
  flash?: Flash | null;
}

const STYLE = `
[hidden]{display:none!important}
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f7f9}
header{background:#1f2937;color:#fff;padding:10px 20px;display:flex;gap:16px;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}header .who{margin-left:auto;opacity:.85}
main{padding:16px 20px;max-width:1200px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:6px 10px;border-bottom:1px solid #e5e7eb;text-align:left}
.flash{padding:10px 14px;margin:0 0 14px;border-radius:6px}.flash.ok{background:#e6f6ea}.flash.no{background:#fde8e8;color:#8a1111;font-weight:600}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 16px;margin-bottom:14px}
.big{font-size:20px;font-weight:600}.muted{color:#6b7280}
form.inline{display:inline}button{padding:6px 14px;margin-right:6px;border-radius:6px;border:1px solid #9ca3af;background:#fff;cursor:pointer}
button.approve{background:#2a9d4b;color:#fff;border-color:#2a9d4b}button.reject,button.rollback{background:#d62728;color:#fff;border-color:#d62728}
ol.timeline{padding-left:20px}ol.timeline li{margin:2px 0}img.chart{max-width:100%;background:#fff}
input,select{padding:5px 8px;margin-right:8px}`;

function layout(title: string, ctx: PageContext | { nonce: string }, body: string, bodyData = ''): string {
  const who =
    'person' in ctx
      ? `<span class="who">signed in as <b>${esc(ctx.person)}</b></span><form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="${esc(ctx.csrf)}"><button type="submit">Sign out</button></form>`
      : '';
  const flash = 'person' in ctx && ctx.flash ? `<p class="flash ${ctx.flash.ok ? 'ok' : 'no'}" id="flash" role="status">${esc(ctx.flash.message)}</p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${esc(title)} · QUAD</title><style nonce="${esc(ctx.nonce)}">${STYLE}</style></head>
<body${bodyData}><header><a href="/">QUAD · Releases</a>${who}</header><main>${flash}${body}</main></body></html>`;
}

export function messagePage(nonce: string, title: string, message: string): string {
  return layout(title, { nonce }, `<h1>${esc(title)}</h1><p>${esc(message)}</p>`);
}

export function signInPage(nonce: string, oidcIssuer?: string): string {
  const oidc = oidcIssuer ? `<p><a id="oidc-sign-in" href="/oidc/login">Sign in with ${esc(oidcIssuer)}</a></p>` : '';
  return layout(
    'Sign in',
    { nonce },
    `<h1>Sign in</h1>${oidc}<p>${oidc ? 'Or sign in' : 'Sign in'} with the one-time link the dashboard printed when it started (…/login?token=…).</p>`,
  );
}

/** After the provider's redirect: a same-site step to the dashboard, so the Strict session cookie rides along. */
export function signedInPage(nonce: string, person: string): string {
  return layout('Signed in', { nonce }, `<h1>Signed in as ${esc(person)}</h1><p><a href="/">Continue to the dashboard</a></p>`).replace(
    '<meta charset="utf-8">',
    '<meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/">',
  );
}

const percent = (p: number | null) => (p === null ? '' : `${p} %`);
const time = (at: number) => new Date(at).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

function rowHtml(r: ReleaseRow): string {
  return `<tr><td><a href="/releases/${esc(encodeURIComponent(r.workflowId))}">${esc(r.service)}</a></td><td>${esc(r.version)}</td><td>${esc(r.strategy)}</td>
<td>${esc(r.status)}</td><td>${esc(r.stage)}</td><td>${esc(percent(r.trafficPercent))}</td><td>${esc(r.verdict)}</td><td>${esc(r.requestedBy)}</td><td>${esc(time(r.startedAt))}</td></tr>`;
}

export function listPage(ctx: PageContext, rows: ReleaseRow[], services: string[]): string {
  const options = (xs: readonly string[]) => xs.map((x) => `<option value="${esc(x)}">${esc(x)}</option>`).join('');
  const form = `<div class="card"><form method="post" action="/releases" id="release-form"><input type="hidden" name="csrf" value="${esc(ctx.csrf)}">
<label>Service <select name="service">${options(services)}</select></label>
<label>Version <input name="version" required maxlength="128" placeholder="v1.2.3"></label>
<label>Strategy <select name="strategy"><option value="">(the service's)</option>${options(RELEASE_STRATEGIES)}</select></label>
<button type="submit" class="approve">Release</button></form></div>`;
  const table = `<table><thead><tr><th>Service</th><th>Version</th><th>Strategy</th><th>Status</th><th>Stage</th><th>Traffic</th><th>Last verdict</th><th>By</th><th>Started</th></tr></thead>
<tbody id="rows">${rows.map(rowHtml).join('')}</tbody></table>`;
  return layout('Releases', ctx, `<h1>Releases</h1>${form}<h2>In progress and recent</h2>${table}<script nonce="${esc(ctx.nonce)}">${LIST_SCRIPT}</script>`);
}

// Rebuilds the table from /api/releases every 2 s; cells get textContent, links a path built here.
const LIST_SCRIPT = `(function(){var tb=document.getElementById('rows');
function cell(tr,t){var td=document.createElement('td');td.textContent=t;tr.appendChild(td);return td}
function tick(){fetch('/api/releases',{credentials:'same-origin'}).then(function(r){return r.ok?r.json():null}).then(function(d){if(!d)return;
var frag=document.createDocumentFragment();d.releases.forEach(function(r){var tr=document.createElement('tr');var a=document.createElement('a');
a.href='/releases/'+encodeURIComponent(r.workflowId);a.textContent=r.service;cell(tr,'').appendChild(a);cell(tr,r.version);cell(tr,r.strategy);cell(tr,r.status);
cell(tr,r.stage);cell(tr,r.trafficPercent===null?'':r.trafficPercent+' %');cell(tr,r.verdict);cell(tr,r.requestedBy);
cell(tr,new Date(r.startedAt).toISOString().replace('T',' ').slice(0,19)+' UTC');frag.appendChild(tr)});tb.replaceChildren(frag)}).catch(function(){})}
setInterval(tick,2000)})();`;

const LABELS: Record<(typeof DASHBOARD_COMMANDS)[number], string> = {
  approve: 'Approve',
  reject: 'Reject',
  rollback: 'Rollback',
  pause: 'Pause',
  resume: 'Resume',
  promote: 'Promote',
};
/** Buttons shown only while a gate waits (approve, reject) or while paused (resume). */
const SHOWN_WHEN: Partial<Record<(typeof DASHBOARD_COMMANDS)[number], 'gate' | 'paused'>> = { approve: 'gate', reject: 'gate', resume: 'paused' };

function hiddenFor(cmd: (typeof DASHBOARD_COMMANDS)[number], v: ReleaseView): boolean {
  if (!v.running) return true;
  const when = SHOWN_WHEN[cmd];
  return when === 'gate' ? !v.awaitingApproval : when === 'paused' ? !v.paused : false;
}

function timelineHtml(v: ReleaseView): string {
  return v.timeline
    .map(
      (e) =>
        `<li><span class="muted">${esc(time(e.at))}</span> <b>${esc(e.event)}</b>${e.by ? ` by ${esc(e.by)}` : ''}${e.detail ? `: ${esc(e.detail)}` : ''}</li>`,
    )
    .join('');
}

export function releasePage(ctx: PageContext, v: ReleaseView): string {
  const id = encodeURIComponent(v.workflowId);
  const buttons = DASHBOARD_COMMANDS.map(
    (cmd) => `<form class="inline" method="post" action="/releases/${esc(id)}/${cmd}" data-cmd="${cmd}"${hiddenFor(cmd, v) ? ' hidden' : ''}>
<input type="hidden" name="csrf" value="${esc(ctx.csrf)}"><input type="hidden" name="stage" value="${esc(v.shownStage)}"><button type="submit" class="${cmd}">${LABELS[cmd]}</button></form>`,
  ).join('');
  const verdicts = v.verdicts.map((e) => `<li><b>${esc(e.event)}</b> <span class="muted">${esc(time(e.at))}</span>: ${esc(e.detail)}</li>`).join('');
  const body = `<h1 class="big"><span id="title">${esc(v.service)} ${esc(v.version)}</span></h1>
<div class="card"><div>Status <b id="status">${esc(v.status)}</b> · phase <span id="phase">${esc(v.phase)}</span> · strategy ${esc(v.strategy)} · by ${esc(v.requestedBy)} · previous ${esc(v.previousVersion || 'none')}</div>
<div class="big">Stage: <span id="stage">${esc(v.stage)}</span> · traffic <span id="traffic">${esc(percent(v.trafficPercent))}</span></div>
<div>Last verdict: <b id="verdict">${esc(v.verdict || 'none yet')}</b> <span id="explanation">${esc(v.verdictExplanation)}</span></div>
<div id="action-required" class="flash no"${v.actionRequired ? '' : ' hidden'}>${esc(v.actionRequired)}</div>
<div id="buttons">${buttons}</div></div>
<div class="card"><img class="chart" id="chart" alt="the release's timeline chart" src="/releases/${esc(id)}/chart.svg?v=${v.timeline.length}"></div>
<div class="card"><h2>Verdicts</h2><ol class="timeline" id="verdicts">${verdicts}</ol></div>
<div class="card"><h2>Timeline</h2><ol class="timeline" id="timeline">${timelineHtml(v)}</ol></div>
<script nonce="${esc(ctx.nonce)}">${RELEASE_SCRIPT}</script>`;
  return layout(`${v.service} ${v.version}`, ctx, body, ` data-release="${esc(v.workflowId)}"`);
}

// Polls the release's JSON every 1.5 s and writes it with textContent; the buttons carry the stage now
// shown, and the chart is fetched again when the timeline grew (at most every 5 s: it is drawn server-side).
const RELEASE_SCRIPT = `(function(){var id=document.body.dataset.release,url='/api/releases/'+encodeURIComponent(id),lastChart=0,shown=-1;
function set(k,t){var e=document.getElementById(k);if(e)e.textContent=t}
function when(at){return new Date(at).toISOString().replace('T',' ').slice(0,19)+' UTC'}
function list(k,items,fmt){var ol=document.getElementById(k),f=document.createDocumentFragment();items.forEach(function(e){var li=document.createElement('li');fmt(li,e);f.appendChild(li)});ol.replaceChildren(f)}
function part(li,tag,t,cls){var s=document.createElement(tag);s.textContent=t;if(cls)s.className=cls;li.appendChild(s)}
function tick(){fetch(url,{credentials:'same-origin'}).then(function(r){return r.ok?r.json():null}).then(function(v){if(!v)return;
set('status',v.status);set('phase',v.phase);set('stage',v.stage);set('traffic',v.trafficPercent+' %');set('verdict',v.verdict||'none yet');set('explanation',v.verdictExplanation);
var ar=document.getElementById('action-required');ar.textContent=v.actionRequired;ar.hidden=!v.actionRequired;
document.querySelectorAll('#buttons form').forEach(function(f){var c=f.dataset.cmd;f.querySelector('input[name=stage]').value=v.shownStage;
f.hidden=!v.running||((c==='approve'||c==='reject')&&!v.awaitingApproval)||(c==='resume'&&!v.paused)});
list('timeline',v.timeline,function(li,e){part(li,'span',when(e.at),'muted');part(li,'b',' '+e.event);if(e.by)part(li,'span',' by '+e.by);if(e.detail)part(li,'span',': '+e.detail)});
list('verdicts',v.verdicts,function(li,e){part(li,'b',e.event);part(li,'span',' '+when(e.at),'muted');part(li,'span',': '+e.detail)});
if(v.timeline.length!==shown&&Date.now()-lastChart>5000){shown=v.timeline.length;lastChart=Date.now();document.getElementById('chart').src='/releases/'+encodeURIComponent(id)+'/chart.svg?v='+shown}
}).catch(function(){})}
setInterval(tick,1500)})();`;

// ASEM memory inspector: plain JavaScript over the /v1 REST API (no build step, no CDN).
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { notes: [], selected: null, query: "", cy: null };

function esc(text) {
  const div = document.createElement("div");
  div.textContent = text == null ? "" : String(text);
  return div.innerHTML;
}

function scope() {
  const out = {};
  for (const [key, id] of [["user_id", "#user-id"], ["agent_id", "#agent-id"], ["session_id", "#session-id"]]) {
    const value = $(id).value.trim();
    if (value) out[key] = value;
  }
  return out;
}

function setStatus(text, error) {
  const el = $("#status");
  el.textContent = text;
  el.style.color = error ? "#ff9c9c" : "#ffd37a";
}

async function api(path, { method = "GET", body = null, params = {} } = {}) {
  const url = new URL("/v1" + path, window.location.origin);
  for (const [k, v] of Object.entries({ ...scope(), ...params })) url.searchParams.set(k, v);
  const headers = {};
  const key = $("#api-key").value.trim();
  if (key) headers["X-API-Key"] = key;
  if (body !== null) headers["Content-Type"] = "application/json";
  const res = await fetch(url, { method, headers, body: body === null ? null : JSON.stringify(body) });
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const detail = data && data.detail ? (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)) : res.statusText;
    throw new Error(`${res.status}: ${detail}`);
  }
  return data;
}

function fmt(x, digits = 3) { return typeof x === "number" ? x.toFixed(digits) : esc(x); }

function renderNotes() {
  const filter = $("#note-filter").value.trim().toLowerCase();
  const rows = state.notes.filter((n) => !filter || n.content.toLowerCase().includes(filter) || n.keywords.join(" ").includes(filter));
  $("#note-count").textContent = `(${rows.length} of ${state.notes.length})`;
  $("#notes tbody").innerHTML = rows.map((n) => `
    <tr data-id="${esc(n.id)}" class="${n.valid ? "" : "invalid"} ${state.selected === n.id ? "selected" : ""}">
      <td>${esc(n.content)}</td><td>${esc(n.timestamp.slice(0, 16))}</td><td>${esc(n.keywords.join(", "))}</td>
      <td>${esc(n.tags.join(", "))}</td><td class="num">${fmt(n.q)}</td><td class="num">${n.uses}</td>
      <td>${n.valid ? "yes" : "no"}</td><td class="num">${n.version}</td><td>${esc(n.source_ids.join(", "))}</td>
    </tr>`).join("");
}

async function loadScope() {
  try {
    state.notes = await api("/memories", { params: { include_invalid: "true" } });
    renderNotes();
    await loadGraph();
    await loadStats();
    setStatus(`${state.notes.length} notes in ${JSON.stringify(scope())}`);
  } catch (err) { setStatus(String(err.message || err), true); }
}

async function loadScopes() {
  try {
    const scopes = await api("/scopes", { params: {} });
    $("#scope-users").innerHTML = [...new Set(scopes.map((s) => s.user_id).filter(Boolean))].map((u) => `<option value="${esc(u)}">`).join("");
    return scopes;
  } catch (err) { return null; }  // listing needs the API key: type the ids instead
}

async function loadStats() {
  const stats = await api("/stats");
  const scopes = await loadScopes();
  const perScope = scopes ? scopes.map((s) => `${JSON.stringify({ user_id: s.user_id, agent_id: s.agent_id, session_id: s.session_id })}: ${s.notes} notes`).join("\n") : "(listing scopes needs the API key)";
  const stages = Object.entries(stats.llm_stages || {}).map(([stage, t]) => `${stage}: ${t.calls} calls, ${t.prompt_tokens} + ${t.completion_tokens} tokens`).join("\n") || "(no LLM stage ran)";
  $("#stats").textContent = `notes ${stats.notes} (valid ${stats.valid_notes}, deleted ${stats.deleted_notes}), links ${stats.links}, scopes ${stats.scopes}\n` +
    `manager ${stats.manager}, embedder ${stats.embedder}, llm ${stats.llm}\nLLM calls ${stats.llm_calls}, tokens ${stats.prompt_tokens} + ${stats.completion_tokens}\n` +
    `searches ${stats.searches ?? 0}, feedbacks ${stats.feedbacks ?? 0}\n\nper stage:\n${stages}\n\nnotes per scope:\n${perScope}`;
}

async function runSearch() {
  state.query = $("#query").value.trim();
  if (!state.query) return;
  try {
    const hits = await api("/search", { method: "POST", body: { query: state.query, k: 10, ...scope() } });
    $("#results tbody").innerHTML = hits.map((h, i) => `
      <tr data-id="${esc(h.note.id)}"><td>${i + 1}</td><td>${esc(h.note.content)}</td><td class="num">${fmt(h.score)}</td>
      <td class="num">${fmt(h.relevance, 4)}</td><td class="num">${fmt(h.similarity)}</td><td class="num">${fmt(h.utility)}</td>
      <td>${esc(h.channels.join("+"))}</td>
      <td><button class="fb-up" data-id="${esc(h.note.id)}" title="this note helped">+1</button>
          <button class="fb-down" data-id="${esc(h.note.id)}" title="this note did not help">&minus;1</button></td></tr>`).join("");
    setStatus(`${hits.length} hits for "${state.query}"`);
  } catch (err) { setStatus(String(err.message || err), true); }
}

async function sendFeedback(noteId, reward) {
  try {
    const [note] = await api("/feedback", { method: "POST", body: { reward, note_ids: [noteId], ...scope() } });
    setStatus(`feedback ${reward > 0 ? "+1" : "-1"}: q of ${noteId.slice(0, 8)} is now ${note.q.toFixed(3)}`);
    const local = state.notes.find((n) => n.id === noteId);
    if (local) { local.q = note.q; local.uses = note.uses; renderNotes(); }
    await runSearch();
    if (state.selected === noteId) await showNote(noteId);
  } catch (err) { setStatus(String(err.message || err), true); }
}

async function showNote(noteId) {
  state.selected = noteId;
  renderNotes();
  try {
    const [note, versions, ops, utility] = await Promise.all([
      api(`/memories/${encodeURIComponent(noteId)}`), api(`/memories/${encodeURIComponent(noteId)}/history`),
      api("/operations", { params: { note_id: noteId } }), api(`/memories/${encodeURIComponent(noteId)}/utility`),
    ]);
    $("#detail-id").textContent = note.id;
    $("#detail").innerHTML = `<p><b>${esc(note.content)}</b></p><p>event ${esc(note.timestamp)} · q ${fmt(note.q)} · uses ${note.uses} · version ${note.version} · ${note.valid ? "valid" : "deleted"}</p>
      <p>context: ${esc(note.context)}</p><p>metadata: <code>${esc(JSON.stringify(note.metadata))}</code></p>
      <p>links: ${note.links.map((l) => `${esc(l.relation)} → <a href="#" class="goto" data-id="${esc(l.target)}">${esc(l.target.slice(0, 8))}</a>`).join(", ") || "none"}</p>`;
    $("#history").innerHTML = versions.map((v) => `
      <div class="version ${v.note.valid ? "" : "deleted"}"><div class="op">v${v.note.version} ${esc(v.op)}</div>
      <div>${esc(v.at)}</div><div>${esc(v.note.content)}</div><div class="hint">${esc(v.reason)}</div></div>`).join("");
    $("#ops tbody").innerHTML = ops.map((r) => `<tr><td>${esc(r.at)}</td><td>${esc(r.op)}</td><td>${esc(r.reason)}</td>
      <td>${r.op === "FEEDBACK" ? `r=${fmt(r.reward, 2)} → q=${fmt(r.q)}` : esc(r.text || "")}</td></tr>`).join("");
    drawUtility(utility);
    highlight(noteId);
  } catch (err) { setStatus(String(err.message || err), true); }
}

function drawUtility(points) {
  const w = 420, h = 120, pad = 24;
  const x = (i) => pad + (points.length < 2 ? 0 : (i * (w - 2 * pad)) / (points.length - 1));
  const y = (q) => h - pad - ((q + 1) / 2) * (h - 2 * pad);
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.q).toFixed(1)}`).join(" ");
  const dots = points.map((p, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(p.q).toFixed(1)}" r="3"><title>${esc(p.at)} q=${p.q.toFixed(3)}</title></circle>`).join("");
  $("#utility").innerHTML = `<svg width="${w}" height="${h}" aria-label="utility over time">
    <line x1="${pad}" x2="${w - pad}" y1="${y(0)}" y2="${y(0)}" stroke="#ccc"/><text x="2" y="${y(1) + 4}" font-size="10">1</text>
    <text x="2" y="${y(0) + 4}" font-size="10">0</text><text x="2" y="${y(-1) + 4}" font-size="10">-1</text>
    <path d="${path}" fill="none" stroke="#3056d3" stroke-width="2"/>${dots}</svg><div class="hint">${points.length - 1} feedback update(s)</div>`;
}

async function loadGraph() {
  const graph = await api("/graph", { params: { limit: 400 } });
  const elements = [
    ...graph.nodes.map((n) => ({ data: { id: n.id, label: n.label, q: n.q } })),
    ...graph.edges.map((e, i) => ({ data: { id: `e${i}`, source: e.source, target: e.target, relation: e.relation } })),
  ];
  if (state.cy) state.cy.destroy();
  state.cy = cytoscape({
    container: $("#graph"), elements, wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: { "background-color": "mapData(q, -1, 1, #d33, #2a2)", width: 10, height: 10, label: "", "font-size": 8 } },
      { selector: "node.focus", style: { width: 20, height: 20, label: "data(label)", "border-width": 2, "border-color": "#3056d3" } },
      { selector: "node.near", style: { label: "data(label)" } },
      { selector: "edge", style: { width: 1, "line-color": "#bbb", "curve-style": "bezier", "target-arrow-shape": "triangle", "arrow-scale": 0.5 } },
      { selector: "edge.near", style: { label: "data(relation)", "font-size": 7, "line-color": "#3056d3" } },
    ],
    layout: { name: graph.nodes.length > 150 ? "grid" : "cose", animate: false },
  });
  state.cy.on("tap", "node", (ev) => showNote(ev.target.id()));
}

function highlight(noteId) {
  if (!state.cy) return;
  state.cy.elements().removeClass("focus near");
  const node = state.cy.getElementById(noteId);
  if (node.empty()) return;
  node.addClass("focus");
  node.connectedEdges().addClass("near");
  node.neighborhood("node").addClass("near");
  state.cy.animate({ center: { eles: node }, zoom: 1.5 }, { duration: 200 });
}

$("#scope-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadScope(); });
$("#search-form").addEventListener("submit", (ev) => { ev.preventDefault(); runSearch(); });
$("#note-filter").addEventListener("input", renderNotes);
document.addEventListener("click", (ev) => {
  const target = ev.target;
  if (target.matches("button.fb-up")) { ev.stopPropagation(); sendFeedback(target.dataset.id, 1.0); return; }
  if (target.matches("button.fb-down")) { ev.stopPropagation(); sendFeedback(target.dataset.id, -1.0); return; }
  if (target.matches("a.goto")) { ev.preventDefault(); showNote(target.dataset.id); return; }
  const row = target.closest("#notes tbody tr, #results tbody tr");
  if (row) showNote(row.dataset.id);
});
const params = new URLSearchParams(window.location.search);
for (const [key, id] of [["user_id", "#user-id"], ["agent_id", "#agent-id"], ["session_id", "#session-id"]]) {
  if (params.get(key)) $(id).value = params.get(key);
}
if (params.get("user_id") || params.get("agent_id") || params.get("session_id")) loadScope();

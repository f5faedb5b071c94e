// spikegraph live view: draws the newest snapshot the server sends and sends commands.
"use strict";
const COLORS = {sensory: "#1f77b4", dynamic: "#7f7f7f", oscillator: "#9467bd", integrator: "#8c564b",
                relay: "#ff7f0e", highway: "#d62728", workspace: "#2ca02c"};
const token = new URLSearchParams(location.search).get("token") || "";
const live = window.live = {hello: null, frames: 0, last: null, replies: [], spikes: [], drawn: 0};
let socket = null, nextId = 1;

function $(id) { return document.getElementById(id); }
function show(text, ok) { const m = $("message"); m.textContent = text; m.className = "message " + (ok ? "ok" : "error"); }
function fmt(x, digits) { return x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(digits); }

function send(cmd) {
  if (!socket || socket.readyState !== 1) { show("not connected", false); return; }
  cmd.id = nextId++;
  socket.send(JSON.stringify(cmd));
}

function drawGrid(canvasId, grid, hue) {
  const canvas = $(canvasId);
  if (!grid) return;
  const raw = atob(grid.data), w = grid.w, h = grid.h;
  const img = new ImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const v = raw.charCodeAt(i);
    img.data[4 * i] = hue === "green" ? 255 - v : 255 - v * 0.2;
    img.data[4 * i + 1] = hue === "green" ? 255 - v * 0.4 : 255 - v * 0.75;
    img.data[4 * i + 2] = hue === "green" ? 255 - v : 255 - v;
    img.data[4 * i + 3] = 255;
  }
  const tmp = document.createElement("canvas");
  tmp.width = w; tmp.height = h;
  tmp.getContext("2d").putImageData(img, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}

// Each node-type band gets a share of the raster's height proportional to its size, but
// at least MIN_BAND of it, so that small populations (relays, workspace) stay visible.
const MIN_BAND = 0.07;
let layout = null;
function bandLayout(H) {
  const n = live.hello.nodes, bands = live.hello.bands;
  const shares = bands.map(b => Math.max((b[2] - b[1] + 1) / n, MIN_BAND));
  const total = shares.reduce((a, b) => a + b, 0);
  let y = H;
  return bands.map((b, i) => {
    const h = shares[i] / total * H;
    y -= h;
    return {name: b[0], first: b[1], last: b[2], y0: y, h: h};
  });
}
function bandOf(row) {
  for (const b of layout) if (row >= b.first && row <= b.last) return b;
  return null;
}

function drawRaster(frame) {
  const canvas = $("raster"), ctx = canvas.getContext("2d");
  const dt = live.hello.dt_ms, left = 80;
  const r = frame.raster;
  for (let i = 0; i < r.rows.length; i++) live.spikes.push([r.steps[i] * dt, r.rows[i]]);
  const window_ms = live.hello.raster_window_ms;
  const now = frame.time_ms, start = now - window_ms;
  live.spikes = live.spikes.filter(s => s[0] >= start);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const W = canvas.width - left, H = canvas.height - 16;  // 16 px below for the time axis
  if (!layout) layout = bandLayout(H);
  // Node-type bands, shaded alternately and labelled on the left.
  ctx.font = "11px system-ui";
  layout.forEach((b, i) => {
    ctx.fillStyle = i % 2 ? "#f4f4f4" : "#fff";
    ctx.fillRect(left, b.y0, W, b.h);
    ctx.fillStyle = COLORS[b.name] || "#333";
    ctx.fillText(b.name, 4, b.y0 + b.h / 2 + 4);
  });
  let drawn = 0;
  for (const [t, row] of live.spikes) {
    const b = bandOf(row);
    if (!b) continue;
    const rows = b.last - b.first + 1, y = b.y0 + b.h - (row - b.first + 1) / rows * b.h;
    ctx.fillStyle = COLORS[b.name] || "#333";
    ctx.fillRect(left + (t - start) / window_ms * W, y, 1.5, Math.max(1, b.h / rows));
    drawn++;
  }
  live.drawn = drawn;
  ctx.strokeStyle = "#999";
  ctx.strokeRect(left, 0, W, H);
  ctx.fillStyle = "#555";
  ctx.fillText(`${fmt(start / 1000, 2)} s`, left, H + 12);
  ctx.textAlign = "right";
  ctx.fillText(`${fmt(now / 1000, 2)} s`, canvas.width, H + 12);
  ctx.textAlign = "left";
}

function drawRates(rates) {
  const box = $("rates");
  box.innerHTML = "";
  const max = Math.max(1, ...Object.values(rates));
  for (const [name, hz] of Object.entries(rates)) {
    const row = document.createElement("div");
    row.className = "row";
    row.innerHTML = `<span class="name">${name}</span><span class="bar" style="width:${Math.round(300 * hz / max)}px;` +
                    `background:${COLORS[name] || "#333"}"></span><span class="value">${hz.toFixed(2)}</span>`;
    box.appendChild(row);
  }
}

function drawLedger(ledger) {
  const body = $("ledger").querySelector("tbody");
  body.innerHTML = "";
  if (!ledger) return;
  for (const [k, v] of Object.entries(ledger)) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td>${k}</td><td>${fmt(v, 4)}</td>`;
    body.appendChild(tr);
  }
}

function onFrame(f) {
  live.frames++;
  live.last = f;
  $("step").textContent = f.step;
  $("time").textContent = fmt(f.time_ms / 1000, 2);
  $("msps").textContent = fmt(f.ms_per_step, 3);
  $("rtf").textContent = fmt(f.rtf, 3);
  $("branching").textContent = fmt(f.branching, 3);
  $("gain").textContent = fmt(f.gain, 3);
  const st = $("state");
  st.textContent = f.running ? "running" : "paused";
  st.className = "state " + (f.running ? "running" : "paused");
  drawRaster(f);
  drawRates(f.rates || {});
  drawGrid("sensory", f.sensory, "red");
  drawGrid("energy_sensory", f.energy_sensory, "green");
  drawGrid("workspace", f.workspace, "red");
  drawGrid("energy_workspace", f.energy_workspace, "green");
  if (f.workspace) $("wsmax").textContent = `(max ${f.workspace.max_hz.toFixed(1)} Hz)`;
  drawLedger(f.ledger);
  if (f.errors) show(f.errors[f.errors.length - 1], false);
}

function onReply(r) {
  live.replies.push(r);
  if (r.ok) show(`${r.cmd}: done${r.result !== null && r.result !== undefined ? " (" + JSON.stringify(r.result) + ")" : ""}`, true);
  else show(`${r.cmd || "command"}: ${r.error}`, false);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws?token=${encodeURIComponent(token)}`);
  socket.onmessage = ev => {
    const m = JSON.parse(ev.data);
    if (m.type === "hello") {
      live.hello = m;
      const list = $("livekeys");
      for (const k of m.live_keys) { const o = document.createElement("option"); o.value = k; list.appendChild(o); }
    } else if (m.type === "frame") onFrame(m);
    else if (m.type === "reply") onReply(m);
  };
  socket.onclose = () => { $("state").textContent = "disconnected"; $("state").className = "state"; setTimeout(connect, 1000); };
}

function parseValue(text) {
  try { return JSON.parse(text); } catch (e) { return text; }
}

$("pause").onclick = () => send({cmd: "pause"});
$("resume").onclick = () => send({cmd: "resume"});
$("step1").onclick = () => send({cmd: "step", steps: Math.max(1, Math.round(10 / (live.hello ? live.hello.dt_ms : 1)))});
$("speed").onchange = () => send({cmd: "speed", rtf: $("speed").value ? Number($("speed").value) : null});
$("setsource").onclick = () => send({cmd: "input", source: $("source").value, path: $("sourcepath").value});
$("checkpoint").onclick = () => send({cmd: "checkpoint"});
$("download").href = `spikes.npz?token=${encodeURIComponent(token)}`;
$("cfgapply").onclick = () => {
  const changes = {};
  changes[$("cfgkey").value.trim()] = parseValue($("cfgvalue").value.trim());
  send({cmd: "config", changes: changes});
};
$("stimapply").onclick = () => send({cmd: "stimulus", first: parseInt($("stimfirst").value, 10),
                                     last: parseInt($("stimlast").value, 10), value: Number($("stimvalue").value)});
connect();

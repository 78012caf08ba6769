// A real call in real browsers: two headless Chromium pages (Debian's), alice
// and bob, each signed in with its own user token, place and answer an audio
// call through Turnpike's call API the way a web app would. Everything the app
// does runs inside the pages: fetch for /v1 (cross-origin, so CORS), one
// WebSocket per page for /v1/events carrying the offer, the answer and the ICE
// candidates, relay-only ICE with the TURN credentials each side got from its
// own create/accept answer. A data-channel message goes each way, alice
// reports /connected and hangs up, bob hears call.ended{hangup}. Then, with
// both peer connections still open (so the browsers cannot have freed their
// allocations themselves), the relay must have deleted the call's allocations
// (GET /admin/allocations) and GET /admin/calls/{id} must show the TURN
// allocations in the timeline and the call ended "hangup".
//
// usage: node api_call.mjs API_BASE USER_TOKEN_SECRET CONTROL_BASE ADMIN_TOKEN
//   e.g. node api_call.mjs http://127.0.0.1:8443 secret http://127.0.0.1:9090 admin
// Prints "ok call ..." lines; exits 0 when everything passed, 1 with a
// "FAILED ..." line otherwise (2 when the overall deadline passed).

import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [apiBase, userSecret, controlBase, adminToken] = process.argv.slice(2);
if (!apiBase || !userSecret || !controlBase || !adminToken) {
  console.log('usage: node api_call.mjs API_BASE USER_TOKEN_SECRET CONTROL_BASE ADMIN_TOKEN');
  process.exit(64);
}

// Every wait below is bounded; this one bounds them all.
const deadline = setTimeout(() => {
  console.log('FAILED the whole call took longer than 85 s');
  process.exit(2);
}, 85000);

// A user token as the app's backend would mint it: HS256, sub, iat, exp.
function userToken(sub) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub, iat: now, exp: now + 600 })}`;
  return `${unsigned}.${createHmac('sha256', userSecret).update(unsigned).digest('base64url')}`;
}

// Installed in each page: the web app. `window.app` keeps the socket, the
// peer connection and what happened, across the steps Node asks for.
function installApp({ api, token, deviceId, name }) {
  const WAIT = 20000;
  const app = {
    name, deviceId, events: [], waiters: [], pc: null, call: null, turn: null, callToken: null,
    pendingIce: [], channel: null, received: [], log: [],
  };
  window.app = app;
  const note = (what) => app.log.push(`${((performance.now()) / 1000).toFixed(2)} ${what}`);

  // One /v1 request from the page; a status other than `expect` throws with
  // the request and the answer, so a failure names itself.
  app.request = async (method, path, body, expect, bearer = token) => {
    const init = { method, headers: { Authorization: `Bearer ${bearer}` } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await Promise.race([
        fetch(api + path, init),
        new Promise((_, reject) => setTimeout(() => reject(new Error('no answer in 10 s')), 10000)),
      ]);
    } catch (e) {
      throw new Error(`${name}: ${method} ${path} ${JSON.stringify(body ?? null)} failed in the page ` +
                      `(CORS or network): ${e.message}`);
    }
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { /* reported below */ }
    note(`${method} ${path} -> ${res.status}`);
    if (res.status !== expect) {
      throw new Error(`${name}: ${method} ${path} ${JSON.stringify(body ?? null)} -> ${res.status} ` +
                      `(expected ${expect}): ${text}`);
    }
    if (json === null && expect !== 204) {
      throw new Error(`${name}: ${method} ${path} -> ${res.status} with a body that is not JSON: ${text}`);
    }
    return json;
  };

  // Resolves with the first event (seen already or to come) that `match`
  // accepts and that no earlier wait took.
  app.waitEvent = (what, match, ms = WAIT) => new Promise((resolve, reject) => {
    const found = app.events.find((e) => !e.taken && match(e));
    if (found) { found.taken = true; resolve(found); return; }
    const waiter = { match, resolve: (e) => { clearTimeout(timer); resolve(e); } };
    const timer = setTimeout(() => {
      app.waiters = app.waiters.filter((w) => w !== waiter);
      reject(new Error(`${name}: no ${what} within ${ms} ms; events so far: ` +
                       JSON.stringify(app.events.map((e) => e.event))));
    }, ms);
    app.waiters.push(waiter);
  });

  const onEvent = (e) => {
    app.events.push(e);
    note(`ws <- ${e.event}${e.seq !== undefined ? ' seq=' + e.seq : ''}`);
    // Signaling for the live call is handled at once, like a real app.
    if (app.call && e.callId === app.call.callId) {
      if (e.event === 'signal.ice' && app.pc) {
        e.taken = true;
        app.addIce(e.data);
        return;
      }
    }
    const i = app.waiters.findIndex((w) => w.match(e));
    if (i >= 0) {
      e.taken = true;
      app.waiters.splice(i, 1)[0].resolve(e);
    }
  };

  app.addIce = (d) => {
    if (!d || !d.candidate) return;
    const init = { candidate: d.candidate, sdpMid: d.sdpMid ?? null, sdpMLineIndex: d.sdpMLineIndex ?? null };
    if (!app.pc.remoteDescription) { app.pendingIce.push(init); return; }
    app.pc.addIceCandidate(init).catch((err) => note(`addIceCandidate failed: ${err.message}`));
  };

  app.send = (event, data) => {
    app.ws.send(JSON.stringify({ event, callId: app.call.callId, deviceId, data }));
    note(`ws -> ${event}`);
  };

  // Register the device, open the event socket, say hello.
  app.start = async () => {
    const reg = await app.request('POST', '/v1/devices/register',
                                  { deviceId, platform: 'web', capabilities: { video: false } }, 200);
    if (!reg.device) throw new Error(`${name}: register answered without "device": ${JSON.stringify(reg)}`);
    const wsUrl = api.replace(/^http/, 'ws') + `/v1/events?access_token=${encodeURIComponent(token)}`;
    app.ws = new WebSocket(wsUrl);
    app.ws.onmessage = (m) => {
      let e;
      try { e = JSON.parse(m.data); } catch { note(`ws <- not JSON: ${m.data}`); return; }
      onEvent(e);
    };
    app.ws.onclose = (c) => note(`ws closed ${c.code} ${c.reason}`);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: the WebSocket did not open in 10 s`)), 10000);
      app.ws.onopen = () => { clearTimeout(timer); resolve(); };
      app.ws.onerror = () => { clearTimeout(timer); reject(new Error(`${name}: the WebSocket ${api}/v1/events failed to open`)); };
    });
    app.ws.send(JSON.stringify({ event: 'hello', deviceId, foreground: true }));
    const ok = await app.waitEvent('hello.ok', (e) => e.event === 'hello.ok', 10000);
    if (ok.deviceId !== deviceId) throw new Error(`${name}: hello.ok names ${ok.deviceId}, not ${deviceId}`);
    return { deviceId: reg.device.deviceId, platform: reg.device.platform };
  };

  // A relay-only peer connection with this side's own TURN credentials: the
  // udp URI on 127.0.0.1 when there is one, all given URIs otherwise.
  app.makePeer = (turn) => {
    if (!turn || !turn.username || !turn.password || !Array.isArray(turn.uris) || turn.uris.length === 0) {
      throw new Error(`${name}: unusable turn credentials ${JSON.stringify(turn)}`);
    }
    const udp = turn.uris.filter((u) => u.includes('127.0.0.1') && /^turn:/.test(u) &&
                                        (/transport=udp/.test(u) || !/transport=/.test(u)));
    const urls = udp.length > 0 ? udp : turn.uris;
    app.urls = urls;
    const pc = new RTCPeerConnection({
      iceServers: [{ urls, username: turn.username, credential: turn.password }],
      iceTransportPolicy: 'relay',
    });
    app.pc = pc;
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) {
        app.send('signal.ice', { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid,
                                 sdpMLineIndex: e.candidate.sdpMLineIndex });
      }
    };
    pc.oniceconnectionstatechange = () => note(`ice ${pc.iceConnectionState}`);
    // An audio call: a tone from WebAudio as the microphone.
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const dest = ctx.createMediaStreamDestination();
    osc.connect(dest);
    osc.start();
    app.audio = ctx;
    for (const track of dest.stream.getAudioTracks()) pc.addTrack(track, dest.stream);
    return pc;
  };

  app.setRemote = async (type, sdp) => {
    await app.pc.setRemoteDescription({ type, sdp });
    for (const c of app.pendingIce.splice(0)) {
      app.pc.addIceCandidate(c).catch((err) => note(`addIceCandidate failed: ${err.message}`));
    }
  };

  const channelMessage = (ms = WAIT) => new Promise((resolve, reject) => {
    if (app.received.length > 0) { resolve(app.received.shift()); return; }
    const timer = setTimeout(() => reject(new Error(`${name}: no data-channel message within ${ms} ms ` +
                                                    `(ice ${app.pc && app.pc.iceConnectionState})`)), ms);
    app.onReceived = (m) => { clearTimeout(timer); resolve(m); };
  });
  const watchChannel = (ch) => {
    app.channel = ch;
    ch.onmessage = (m) => {
      note(`dc <- ${m.data}`);
      if (app.onReceived) { const f = app.onReceived; app.onReceived = null; f(m.data); } else app.received.push(m.data);
    };
  };

  // alice: place the call, offer after the accept, a message each way.
  app.placeCall = async (callee) => {
    const created = await app.request('POST', '/v1/calls', { deviceId, callees: [callee], type: 'audio' }, 201);
    if (!created.call || !created.call.callId || !created.callToken || !created.turn) {
      throw new Error(`${name}: POST /v1/calls answered ${JSON.stringify(created)}`);
    }
    app.call = created.call;
    app.callToken = created.callToken;
    app.turn = created.turn;
    const callId = app.call.callId;
    // What the REST endpoint hands out for this call token, as an app refreshing its credentials would.
    const fresh = await app.request('POST', '/v1/turn/credentials', undefined, 200, app.callToken);
    if (!fresh.username || !fresh.password || !Array.isArray(fresh.uris) || !fresh.username.includes(callId)) {
      throw new Error(`${name}: /v1/turn/credentials answered ${JSON.stringify(fresh)} for call ${callId}`);
    }
    if (!app.turn.username.includes(callId)) {
      throw new Error(`${name}: the TURN username ${app.turn.username} does not name call ${callId}`);
    }
    const accepted = await app.waitEvent('call.accepted', (e) => e.event === 'call.accepted' && e.callId === callId);
    const pc = app.makePeer(app.turn);
    watchChannel(pc.createDataChannel('turnpike'));
    const open = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: the data channel did not open within ${WAIT} ms ` +
                                                      `(ice ${pc.iceConnectionState})`)), WAIT);
      app.channel.onopen = () => { clearTimeout(timer); resolve(); };
    });
    await pc.setLocalDescription(await pc.createOffer());
    app.send('signal.offer', { sdp: pc.localDescription.sdp });
    const answer = await app.waitEvent('signal.answer', (e) => e.event === 'signal.answer' && e.callId === callId);
    if (!answer.data || !answer.data.sdp) throw new Error(`${name}: signal.answer without data.sdp: ${JSON.stringify(answer)}`);
    await app.setRemote('answer', answer.data.sdp);
    await open;
    app.channel.send('hello bob, this is alice');
    const reply = await channelMessage();
    const connected = await app.request('POST', `/v1/calls/${callId}/connected`, { deviceId }, 200);
    return {
      callId, turnUsername: app.turn.username, urls: app.urls, accepted: accepted.data ?? {},
      answerFrom: answer.data.fromUserId, reply, connectedState: connected.call && connected.call.state,
    };
  };

  // bob: wait for the ring, accept, answer the offer, a message each way.
  app.answerCall = async () => {
    const incoming = await app.waitEvent('call.incoming', (e) => e.event === 'call.incoming');
    const callId = incoming.callId;
    const accepted = await app.request('POST', `/v1/calls/${callId}/accept`, { deviceId }, 200);
    if (!accepted.call || !accepted.callToken || !accepted.turn) {
      throw new Error(`${name}: accept answered ${JSON.stringify(accepted)}`);
    }
    app.call = accepted.call;
    app.callToken = accepted.callToken;
    app.turn = accepted.turn;
    if (!app.turn.username.includes(callId)) {
      throw new Error(`${name}: the TURN username ${app.turn.username} does not name call ${callId}`);
    }
    const pc = app.makePeer(app.turn);
    const gotChannel = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no data channel within ${WAIT} ms ` +
                                                      `(ice ${pc.iceConnectionState})`)), WAIT);
      pc.ondatachannel = (e) => { clearTimeout(timer); watchChannel(e.channel); resolve(); };
    });
    // Candidates that came with the ring (before the peer existed) wait for the offer.
    for (const e of app.events) {
      if (!e.taken && e.event === 'signal.ice' && e.callId === callId) { e.taken = true; app.addIce(e.data); }
    }
    const offer = await app.waitEvent('signal.offer', (e) => e.event === 'signal.offer' && e.callId === callId);
    if (!offer.data || !offer.data.sdp) throw new Error(`${name}: signal.offer without data.sdp: ${JSON.stringify(offer)}`);
    await app.setRemote('offer', offer.data.sdp);
    await pc.setLocalDescription(await pc.createAnswer());
    app.send('signal.answer', { sdp: pc.localDescription.sdp });
    await gotChannel;
    const message = await channelMessage();
    app.channel.send('hello alice, bob here');
    return {
      callId, turnUsername: app.turn.username, urls: app.urls, from: incoming.data && incoming.data.fromUserId,
      offerFrom: offer.data.fromUserId, message,
    };
  };

  // The selected candidate pair and the audio counters.
  app.stats = async () => {
    const stats = await app.pc.getStats();
    let pair = null;
    let sent = 0;
    let received = 0;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
      if (s.type === 'outbound-rtp' && s.kind === 'audio') sent += s.packetsSent || 0;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') received += s.packetsReceived || 0;
    });
    const local = pair && stats.get(pair.localCandidateId);
    const remote = pair && stats.get(pair.remoteCandidateId);
    return {
      local: local && local.candidateType, remote: remote && remote.candidateType,
      relayProtocol: local && local.relayProtocol, ice: app.pc.iceConnectionState,
      audioSent: sent, audioReceived: received,
    };
  };

  app.hangup = async () => {
    const r = await app.request('POST', `/v1/calls/${app.call.callId}/end`, { deviceId }, 200);
    return { state: r.call && r.call.state, endReason: r.call && r.call.endReason };
  };

  app.waitEnded = async (ms = 10000) => {
    const e = await app.waitEvent('call.ended', (x) => x.event === 'call.ended' && x.callId === app.call.callId, ms);
    return { reason: e.data && e.data.reason, seq: e.seq };
  };

  // After the end the call token buys no more TURN credentials: 409 call_ended.
  app.credentialsAfterEnd = async () => {
    const r = await app.request('POST', '/v1/turn/credentials', undefined, 409, app.callToken);
    return r.error && r.error.code;
  };

  app.close = () => {
    if (app.pc) app.pc.close();
    if (app.audio) app.audio.close();
    if (app.ws) app.ws.close();
  };
  return true;
}

// The control port, from Node (admin token: not something a page holds).
async function admin(path) {
  const res = await fetch(controlBase + path, {
    headers: { Authorization: `Bearer ${adminToken}` }, signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* reported below */ }
  if (res.status !== 200 || json === null) throw new Error(`GET ${path} -> ${res.status}: ${text}`);
  return json;
}
const ofCall = (list, callId) => (list.allocations || []).filter((a) => a.callId === callId);

// A step that must finish in time, whatever the page does.
function bounded(what, promise, ms) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no result in ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

const page = '<!doctype html><title>turnpike web call</title><p>web app</p>';
const http = createServer((_, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(page); });
await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
const profile = mkdtempSync(join(tmpdir(), 'turnpike-chromium-'));
let failed = null;
let context;
let alice;
let bob;
const check = (ok, line) => {
  console.log(`${ok ? 'ok' : 'FAILED'} call ${line}`);
  if (!ok && !failed) failed = line;
  return ok;
};
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: 30000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--autoplay-policy=no-user-gesture-required'],
  });
  const origin = `http://127.0.0.1:${http.address().port}/`;
  alice = await context.newPage();
  bob = await context.newPage();
  for (const p of [alice, bob]) {
    p.setDefaultTimeout(30000);
    await p.goto(origin);
  }
  const run = Math.random().toString(36).slice(2, 8);
  await alice.evaluate(installApp, { api: apiBase, token: userToken('alice'), deviceId: `alice-web-${run}`, name: 'alice' });
  await bob.evaluate(installApp, { api: apiBase, token: userToken('bob'), deviceId: `bob-web-${run}`, name: 'bob' });

  const [as, bs] = await bounded('register + hello', Promise.all(
      [alice.evaluate(() => window.app.start()), bob.evaluate(() => window.app.start())]), 25000);
  check(as.platform === 'web' && bs.platform === 'web',
        `devices registered (alice ${as.deviceId}, bob ${bs.deviceId}) and hello.ok on both sockets`);

  // bob waits for the ring while alice places the call.
  const [a, b] = await bounded('the call', Promise.all(
      [alice.evaluate((callee) => window.app.placeCall(callee), 'bob'),
       bob.evaluate(() => window.app.answerCall())]), 45000);
  const callId = a.callId;
  check(b.callId === callId && b.from === 'alice',
        `${callId}: bob got call.incoming from ${b.from} and accepted; TURN ${a.urls.join(',')}`);
  check(a.turnUsername !== b.turnUsername,
        `each side has its own TURN credentials (alice ${a.turnUsername}, bob ${b.turnUsername})`);
  check(b.offerFrom === 'alice' && a.answerFrom === 'bob',
        `signal.offer from ${b.offerFrom} and signal.answer from ${a.answerFrom} over the WebSockets`);
  check(b.message === 'hello bob, this is alice' && a.reply === 'hello alice, bob here',
        `data channel both ways: bob got "${b.message}", alice got "${a.reply}"`);
  check(a.connectedState === 'connected', `POST /connected -> state ${a.connectedState}`);

  // Let some audio flow, then read the selected pairs.
  await new Promise((r) => setTimeout(r, 1000));
  const [sa, sb] = await Promise.all([alice.evaluate(() => window.app.stats()), bob.evaluate(() => window.app.stats())]);
  for (const [who, s] of [['alice', sa], ['bob', sb]]) {
    check(s.local === 'relay' && s.remote === 'relay' && s.audioSent > 0 && s.audioReceived > 0,
          `${who} selected pair ${s.local}/${s.remote} relayProtocol=${s.relayProtocol} ice=${s.ice} ` +
          `audio sent=${s.audioSent} received=${s.audioReceived}`);
  }

  const during = ofCall(await admin('/admin/allocations'), callId);
  check(during.length >= 2, `${during.length} allocations of the call on the relay while it is up`);

  // alice hangs up; both peer connections stay open on purpose.
  const ended = await bounded('hangup', alice.evaluate(() => window.app.hangup()), 15000);
  check(ended.state === 'ended' && ended.endReason === 'hangup',
        `POST /end -> state ${ended.state} endReason ${ended.endReason}`);
  const be = await bounded('bob call.ended', bob.evaluate(() => window.app.waitEnded()), 15000);
  check(be.reason === 'hangup', `bob got call.ended reason=${be.reason}`);

  // The relay deletes the call's allocations within a second; poll up to ~3 s.
  let left = during;
  const until = Date.now() + 3000;
  do {
    await new Promise((r) => setTimeout(r, 200));
    left = ofCall(await admin('/admin/allocations'), callId);
  } while (left.length > 0 && Date.now() < until);
  check(left.length === 0, `allocations of the call left on the relay after the end: ${left.length}` +
        (left.length ? ` ${JSON.stringify(left)}` : ''));

  const code = await bounded('credentials after the end', bob.evaluate(() => window.app.credentialsAfterEnd()), 15000);
  check(code === 'call_ended', `POST /v1/turn/credentials after the end -> 409 ${code}`);

  const shown = await admin(`/admin/calls/${callId}`);
  const timeline = shown.timeline || [];
  const allocates = timeline.filter((t) => t.event === 'turn.allocate').length;
  check(allocates >= 2, `admin timeline has ${allocates} turn.allocate entries: ` +
        timeline.map((t) => t.event).join(','));
  check(shown.call && shown.call.state === 'ended' && shown.call.endReason === 'hangup',
        `admin view: state ${shown.call && shown.call.state} endReason ${shown.call && shown.call.endReason}`);
} catch (e) {
  failed = failed || e.message;
  console.log(`FAILED ${e.message}`);
} finally {
  for (const [who, p] of [['alice', alice], ['bob', bob]]) {
    if (!p) continue;
    if (failed) {
      const log = await bounded('page log', p.evaluate(() => (window.app ? window.app.log : [])), 5000).catch(() => []);
      console.log(`${who} page log:\n  ${log.join('\n  ')}`);
    }
    await bounded('close', p.evaluate(() => window.app && window.app.close()), 5000).catch(() => {});
  }
  if (context) await bounded('closing chromium', context.close(), 10000).catch(() => {});
  http.close();
  rmSync(profile, { recursive: true, force: true });
}
clearTimeout(deadline);
process.exit(failed ? 1 : 0);

// Two RTCPeerConnections in headless Chromium (Debian's), relay-only, with
// Turnpike as the only ICE server: one call each over turn:?transport=udp,
// turn:?transport=tcp and turns:?transport=tcp. A data-channel message makes
// the round trip, and getStats must show a relay/relay pair with the expected
// relay protocol. Prints one line per call and exits 0 when all passed.
//
// usage: node relay_call.mjs HOST UDP_PORT TCP_PORT TLS_PORT USERNAME PASSWORD SPKI_SHA256
// SPKI_SHA256 (base64) is the test certificate's key, trusted explicitly
// through Chromium's --ignore-certificate-errors-spki-list: only that key.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [host, udpPort, tcpPort, tlsPort, username, credential, spki] = process.argv.slice(2);
const calls = [
  { name: 'udp', url: `turn:${host}:${udpPort}?transport=udp`, relayProtocol: 'udp' },
  { name: 'tcp', url: `turn:${host}:${tcpPort}?transport=tcp`, relayProtocol: 'tcp' },
  { name: 'tls', url: `turns:${host}:${tlsPort}?transport=tcp`, relayProtocol: 'tls' },
];

// Runs in the page: one relay-only call, a message there and back, the stats.
async function call({ url, username, credential }) {
  const config = { iceServers: [{ urls: url, username, credential }], iceTransportPolicy: 'relay' };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  b.ondatachannel = (e) => { e.channel.onmessage = (m) => e.channel.send('echo:' + m.data); };
  const channel = a.createDataChannel('turnpike');
  const echoed = new Promise((resolve) => { channel.onmessage = (m) => resolve(m.data); });
  channel.onopen = () => channel.send('hello through turnpike');
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 20000));
  const reply = await Promise.race([echoed, timeout]);
  const stats = await a.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  const local = pair && stats.get(pair.localCandidateId);
  const remote = pair && stats.get(pair.remoteCandidateId);
  a.close();
  b.close();
  return {
    reply,
    local: local && local.candidateType,
    remote: remote && remote.candidateType,
    relayProtocol: local && local.relayProtocol,
  };
}

const page = '<!doctype html><title>turnpike relay call</title><p>relay test</p>';
const http = createServer((_, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end(page); });
await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
const profile = mkdtempSync(join(tmpdir(), 'turnpike-chromium-'));
let failed = 0;
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: 60000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run',
           `--ignore-certificate-errors-spki-list=${spki}`],
  });
  const tab = await context.newPage();
  await tab.goto(`http://127.0.0.1:${http.address().port}/`);
  for (const c of calls) {
    const r = await tab.evaluate(call, { url: c.url, username, credential });
    const ok = r.reply === 'echo:hello through turnpike' && r.local === 'relay' &&
               r.remote === 'relay' && r.relayProtocol === c.relayProtocol;
    if (!ok) failed++;
    console.log(`${ok ? 'ok' : 'FAILED'} ${c.name} reply=${r.reply} pair=${r.local}/${r.remote} relayProtocol=${r.relayProtocol}`);
  }
} catch (e) {
  console.log(`FAILED ${e.message}`);
  failed++;
} finally {
  if (context) await context.close();
  http.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed === 0 ? 0 : 1);

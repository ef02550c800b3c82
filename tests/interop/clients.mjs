// Runs real, unmodified npm clients against a running Flagstaff server and writes what they saw.
// Driven by tests/Flagstaff.Interop.Tests, which starts the server, creates the flags, compares the
// answers with Flagstaff's own evaluator and checks what reached the server.
//
// Environment: FLAGSTAFF_URL, FLAGSTAFF_SERVER_KEY, FLAGSTAFF_CLIENT_KEY, FLAGSTAFF_ADMIN_TOKEN,
// FLAGSTAFF_PROJECT, FLAGSTAFF_INPUT (JSON: {contexts, ofrep: [{flag, context}], web: {...}}),
// FLAGSTAFF_OUTPUT (file to write the results to).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature as WebOpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { EventSource } from 'eventsource';

// tggl-client's ES module build imports files without their extension, which Node refuses; its
// CommonJS build is the one Node users load.
const { TgglClient, TgglLocalClient } = createRequire(import.meta.url)('tggl-client');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const baseUrl = env('FLAGSTAFF_URL').replace(/\/$/, '');
const serverKey = env('FLAGSTAFF_SERVER_KEY');
const clientKey = env('FLAGSTAFF_CLIENT_KEY');
const adminToken = env('FLAGSTAFF_ADMIN_TOKEN');
const project = env('FLAGSTAFF_PROJECT');
const input = JSON.parse(fs.readFileSync(env('FLAGSTAFF_INPUT'), 'utf8'));
const output = {};
const withTimeout = (promise, ms, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))]);

// --- tggl-client: local evaluation (GET /config + tggl-core) and its usage reporting to /report.
const local = new TgglLocalClient({
  apiKey: serverKey,
  baseUrls: [baseUrl],
  pollingIntervalMs: 0,
  reporting: { flushIntervalMs: 200 },
  appName: 'interop',
});
await withTimeout(local.waitReady(), 10000, 'TgglLocalClient ready');
if (local.getError()) throw new Error(`TgglLocalClient: ${local.getError()}`);
output.tgglLocal = input.contexts.map((context) => local.getAll(context));
// get() is what reports evaluations; call it for every flag of the first contexts.
for (const context of input.contexts.slice(0, 20)) {
  for (const slug of input.flags) local.get(context, slug, null);
}
await local.getReporting().flush();
local.stopPolling();
local.getReporting().stop();

// --- tggl-client: remote evaluation (POST /flags per context), with its own reporting.
const remote = new TgglClient({ apiKey: clientKey, baseUrls: [baseUrl], pollingIntervalMs: 0, storages: [], reporting: false });
output.tgglRemote = [];
for (const context of input.contexts) {
  await remote.setContext(context);
  if (remote.getError()) throw new Error(`TgglClient: ${remote.getError()}`);
  output.tgglRemote.push(remote.getAll());
}

// --- OpenFeature server SDK with the OFREP provider.
// The key without the Bearer word, as the provider's own README shows it.
await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl, headers: [['Authorization', clientKey]] }));
const client = OpenFeature.getClient();
output.ofrep = [];
for (const { flag, type, context } of input.ofrep) {
  const defaults = { boolean: false, string: 'code-default', number: -1, object: { codeDefault: true } };
  const method = { boolean: 'getBooleanDetails', string: 'getStringDetails', number: 'getNumberDetails', object: 'getObjectDetails' }[type];
  const details = await client[method](flag, defaults[type], context);
  output.ofrep.push({ flag, value: details.value, reason: details.reason, variant: details.variant ?? null, errorCode: details.errorCode ?? null });
}
await OpenFeature.close();

// --- OpenFeature web SDK with the OFREP web provider: bulk evaluation with ETag, and change
// notifications over the event stream. Node stands in for the browser with an EventSource and a
// document that is always visible.
globalThis.EventSource = EventSource;
globalThis.document = { visibilityState: 'visible', addEventListener() {}, removeEventListener() {} };
const statuses = [];
const fetchWithLog = async (url, init) => {
  const response = await fetch(url, init);
  const address = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
  if (address.includes('/ofrep/v1/evaluate/flags')) statuses.push(response.status);
  return response;
};
const web = input.web;
await WebOpenFeature.setContext(web.context);
const webProvider = new OFREPWebProvider({
  baseUrl,
  headers: [['Authorization', `Bearer ${clientKey}`]],
  fetchImplementation: fetchWithLog,
  cacheMode: 'disabled',
  changeDetection: 'sse',
  disableVisibilityRefresh: true,
});
await withTimeout(WebOpenFeature.setProviderAndWait(webProvider), 10000, 'web provider ready');
const webClient = WebOpenFeature.getClient();
const read = () => Object.fromEntries(web.flags.map((f) => [f, webClient.getBooleanDetails(f, false)]).map(([f, d]) => [f, { value: d.value, reason: d.reason, variant: d.variant ?? null }]));
output.web = { initial: read() };

const admin = async (method, path, body, ifMatch) => {
  const headers = { Authorization: `Bearer ${adminToken}` };
  if (body) headers['Content-Type'] = 'application/json';
  if (ifMatch) headers['If-Match'] = ifMatch;
  const response = await fetch(`${baseUrl}/api/projects/${project}/${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
};
const changed = () => new Promise((resolve) => webClient.addHandler(ProviderEvents.ConfigurationChanged, resolve));

// A change that alters this context's answers arrives through the event stream and a refetch.
let next = changed();
await admin('POST', `flags/${web.toggle}/environments/production/off`);
await withTimeout(next, 10000, 'configuration changed after turning a flag off');
output.web.afterChange = read();

// A change that does not alter this context's answers (renaming a flag) is refetched and answered
// 304 Not Modified.
const before = statuses.length;
const etag = (await admin('GET', `flags/${web.unrelated}`)).headers.get('etag');
await admin('PATCH', `flags/${web.unrelated}`, { name: 'Renamed during the interop test' }, etag);
await withTimeout((async () => { while (statuses.length === before) await new Promise((r) => setTimeout(r, 20)); })(), 10000, 'refetch after an unrelated change');
output.web.statuses = statuses;
await WebOpenFeature.close();

// --- tggl-client's fallback to Tggl's hosted service, switched off as the README says. Its
// constructors append https://api.tggl.io to the very array given as baseUrls, and after any error
// (a refused key, say) they send the request, with the API key, there too. Removing that entry right
// after construction leaves the client and its reporting with Flagstaff alone.
const requested = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init) => {
  requested.push(typeof url === 'string' ? url : url instanceof URL ? url.href : url.url);
  return realFetch(url, init);
};
const withoutFallback = (baseUrls) => {
  const at = baseUrls.indexOf('https://api.tggl.io');
  if (at >= 0) baseUrls.splice(at, 1);
};
const refusedUrls = [baseUrl];
const refused = new TgglClient({ apiKey: 'fs_client_unknown', baseUrls: refusedUrls, maxRetries: 0, pollingIntervalMs: 0, storages: [], reporting: false });
withoutFallback(refusedUrls);
await refused.setContext({ userId: 'u-1' });
const refusedLocalUrls = [baseUrl];
const refusedLocal = new TgglLocalClient({ apiKey: 'fs_server_unknown', baseUrls: refusedLocalUrls, maxRetries: 0, pollingIntervalMs: 0, reporting: false });
withoutFallback(refusedLocalUrls);
await refusedLocal.waitReady();
globalThis.fetch = realFetch;
output.fallback = { requested, remoteError: String(refused.getError()), localError: String(refusedLocal.getError()) };

fs.writeFileSync(env('FLAGSTAFF_OUTPUT'), JSON.stringify(output));
process.exit(0);

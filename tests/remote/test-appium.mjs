// SPDX-License-Identifier: MIT
//
// test-appium.mjs - xpc-remoted driven by appium-ios-remotexpc (npm), the
// TypeScript RemoteXPC client Appium uses against real devices: its
// service-discovery client must list our service with our port, and its
// framed transport (its own HTTP/2 framing and object encoding) must get
// our reply to a request.  Optional: run by test-remote appium when
// APPIUM_REMOTEXPC names the package's directory (after
// `npm install appium-ios-remotexpc` somewhere).
//
//   node test-appium.mjs PACKAGE_DIR DISCOVERY_PORT SERVICE_PORT SERVICE_NAME
//
// Exit status 0 on success.  Only 127.0.0.1.
const [dir, discPort, svcPort, name] = process.argv.slice(2);
const lib = `${dir}/build/src/lib/remote-xpc`;
const { RsdServiceCatalogClient } = await import(`${lib}/rsd-service-catalog-client.js`);
const { RemoteXpcFramedTransport } = await import(`${lib}/remote-xpc-framed-transport.js`);
const { encodeMessage } = await import(`${lib}/xpc-protocol.js`);
let failures = 0;
const check = (cond, what) => { if (!cond) { failures++; console.error('FAIL:', what); } };
const timeout = setTimeout(() => { console.error('FAIL: timed out'); process.exit(1); }, 30000);

const rsd = new RsdServiceCatalogClient(['127.0.0.1', Number(discPort)]);
const { services } = await rsd.connect({ timeoutMs: 10000 });
await rsd.close();
check(services.some((s) => s.serviceName === name && s.port === svcPort), 'discovery lists the service and its port');

const t = new RemoteXpcFramedTransport(['127.0.0.1', Number(svcPort)]);
t.on('error', (e) => check(false, `transport error: ${e.message}`));
await t.connect({ timeoutMs: 10000 });
const reply = new Promise((resolve) => t.on('message', (b) => { if (b && Object.keys(b).length) resolve(b); }));
t.sendDataFrame(encodeMessage({ flags: 0x10101, id: 7n, body: { op: 'echo', value: 'from-typescript' } }), 1);
const body = await reply;
check(body.value === 'from-typescript' && body.pid !== undefined, 'the reply to a request');
await t.close();
clearTimeout(timeout);
console.log(`test-appium: ${failures} failure(s)`);
process.exit(failures ? 1 : 0);

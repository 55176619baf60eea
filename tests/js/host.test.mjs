// The development backend as a link host a team could deploy, over real HTTP
// on loopback, against both stores: SQLite (a temporary file) and PostgreSQL
// (a throwaway cluster from ./postgres.mjs; skipped with its reason only
// where PostgreSQL cannot be installed).
//
// The authenticated /api/ (create, upload, list, revoke, access trail) with
// the demo account of the start line and accounts made by `create-account`;
// hostile input: bad and missing tokens, another account's links, bad
// bodies, oversized uploads, the per-account rate limit, slowloris
// connections and bodies declared but never sent while a normal client is
// still served promptly; 100 concurrent manifest requests; and wrong passcodes
// counted together by two host processes sharing one database.
//
// The host never decrypts: uploaded files are any compact JWE text.
//
// Needs `cargo build --example dev_server` (or DEV_SERVER=<path to the binary>).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { startPostgres } from "./postgres.mjs";

const SERVER = process.env.DEV_SERVER ?? fileURLToPath(new URL("../../target/debug/examples/dev_server", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAX_UPLOAD = 65_536;
/** Options of every host in this file: short client timeouts so slow clients are seen being dropped. */
const HOST_OPTIONS = ["--header-timeout", "2", "--body-timeout", "2", "--max-upload", String(MAX_UPLOAD), "--manifest-rate", "1000"];

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
/** A compact JWE (dir, A256GCM) of random bytes: the host only stores and serves it. */
const fakeJwe = (size = 64) =>
  [b64u(JSON.stringify({ alg: "dir", enc: "A256GCM", cty: "application/fhir+json" })), "", b64u(randomBytes(12)), b64u(randomBytes(size)), b64u(randomBytes(16))].join(".");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const nowSeconds = () => Math.floor(Date.now() / 1000);

function cli(args) {
  return promisify(execFile)(SERVER, args, { cwd: ROOT }).then(({ stdout }) => stdout);
}

/** Starts a host; resolves once its DEMO_LINKS line is printed. */
async function startHost(storeArgs, extra = []) {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run \`cargo build --example dev_server\` first (or set DEV_SERVER)`);
  const child = spawn(SERVER, ["--port", "0", "--json", "--root", ROOT, ...HOST_OPTIONS, ...storeArgs, ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stderr.on("data", (chunk) => {
    log = (log + chunk).slice(-50_000);
  });
  const killOnExit = () => child.exitCode === null && child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const start = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no DEMO_LINKS line\n${log}`)), 60_000);
    child.once("exit", (code) => reject(new Error(`dev_server exited (${code})\n${log}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.startsWith("DEMO_LINKS ")) return;
      clearTimeout(timer);
      resolve(JSON.parse(line.slice("DEMO_LINKS ".length)));
    });
  });
  const base = start.base.endsWith("/") ? start.base : `${start.base}/`;
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  return { start, base, port: Number(new URL(base).port), stop, log: () => log };
}

/** One JSON API call: `{ status, headers, body }` (body parsed when JSON). */
async function api(host, method, path, { token, json, body, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (token !== undefined) init.headers.authorization = `Bearer ${token}`;
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["content-type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(new URL(path, `${host.base}api/`), init);
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return { status: response.status, headers: response.headers, body: type.startsWith("application/json") && text ? JSON.parse(text) : text };
}

/** A manifest request: `{ status, body }`. */
async function manifest(host, id, { recipient = "Dr Test", passcode, embeddedLengthMax } = {}) {
  const request = { recipient };
  if (passcode !== undefined) request.passcode = passcode;
  if (embeddedLengthMax !== undefined) request.embeddedLengthMax = embeddedLengthMax;
  const response = await fetch(`${host.base}shl/${id}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
  const text = await response.text();
  return { status: response.status, body: (response.headers.get("content-type") ?? "").startsWith("application/json") ? JSON.parse(text) : text };
}

/** Sends raw bytes on a fresh connection; resolves with what the server answered before closing (or after `wait` ms). */
function raw(port, bytes, wait = 5_000) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk;
    });
    socket.on("error", reject);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(received);
    }, wait);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

async function createLink(host, token, request = {}, files = [fakeJwe()]) {
  const created = await api(host, "POST", "links", { token, json: request });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (const jwe of files) {
    const uploaded = await api(host, "POST", `links/${created.body.id}/files`, { token, body: jwe, headers: { "content-type": "application/jose" } });
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
  }
  return created.body;
}

async function listed(host, token, id) {
  const list = await api(host, "GET", "links", { token });
  assert.equal(list.status, 200);
  return list.body.links.find((l) => l.id === id);
}

async function trail(host, token, id) {
  const answer = await api(host, "GET", `links/${id}/accesses`, { token });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.accesses;
}

/** HOST_STORE=SQLite or HOST_STORE=PostgreSQL runs one store's suite only. */
const ONLY = process.env.HOST_STORE;
const pg = ONLY && ONLY !== "PostgreSQL" ? { skip: `HOST_STORE=${ONLY}` } : await startPostgres();
if (pg.skip) console.log(`# PostgreSQL link-host tests skipped: ${pg.skip}`);
after(async () => {
  await pg.stop?.();
});

const STORES = [
  { name: "SQLite", setup: async (dir) => ["--db", join(dir, "links.sqlite3")] },
  { name: "PostgreSQL", skip: pg.skip, setup: async () => ["--postgres", pg.url] },
];

for (const store of STORES.filter((s) => !ONLY || s.name === ONLY)) {
  describe(`link host on ${store.name}`, { skip: store.skip ?? false }, () => {
    let dir;
    let storeArgs;
    let host;
    const accounts = {};

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "ppsdk-host-"));
      storeArgs = await store.setup(dir);
      host = await startHost(storeArgs);
      for (const name of ["alice", "bob", "dave"]) {
        const line = JSON.parse((await cli(["create-account", ...storeArgs, `${name}-${randomBytes(4).toString("hex")}`])).trim());
        assert.match(line.token, /^[A-Za-z0-9_-]{43}$/);
        accounts[name] = line.token;
      }
    });
    after(async () => {
      await host?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test("the start line gives the demo account's API, token and viewer; the demo links are its own", async () => {
      const { api: apiBase, token, viewerUrl } = host.start.host;
      assert.equal(apiBase, `${host.base}api/`);
      assert.equal(viewerUrl, host.base);
      const list = await api(host, "GET", "links", { token });
      assert.equal(list.status, 200);
      assert.equal(list.body.links.length, host.start.links.length, "one listed link per demo link");
      for (const link of list.body.links) assert.ok(link.url.startsWith(`${host.base}shl/`));
      const passcode = list.body.links.find((l) => l.flag === "P");
      assert.equal(passcode.attemptsLeft, 3);
      assert.equal((await api(host, "GET", "links", { token: accounts.alice })).body.links.length, 0, "a new account has no links");
      const preflight = await fetch(`${host.base}api/links`, { method: "OPTIONS", headers: { origin: "https://portal.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" } });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
      assert.match(preflight.headers.get("access-control-allow-headers"), /Authorization/);
      assert.match(preflight.headers.get("access-control-allow-methods"), /DELETE/);
    });

    test("create, upload, list, serve and revoke through the API", async () => {
      const token = accounts.alice;
      const expiresAt = nowSeconds() + 3600;
      const created = await api(host, "POST", "links", { token, json: { label: "For Dr Who", passcode: "s3cret", expiresAt, flag: "L" } });
      assert.equal(created.status, 201);
      const link = created.body;
      assert.match(link.id, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(link.url, `${host.base}shl/${link.id}`);
      assert.equal(link.viewerUrl, host.base);
      assert.deepEqual([link.label, link.flag, link.expiresAt], ["For Dr Who", "LP", expiresAt]);
      assert.ok(Math.abs(link.createdAt - nowSeconds()) <= 5);
      assert.equal(created.headers.get("access-control-allow-origin"), "*");

      const first = fakeJwe(200);
      const card = fakeJwe(50);
      let up = await api(host, "POST", `links/${link.id}/files`, { token, body: first, headers: { "content-type": "application/jose" } });
      assert.deepEqual([up.status, up.body], [201, { files: 1 }]);
      up = await api(host, "POST", `links/${link.id}/files?contentType=application%2Fsmart-health-card`, { token, body: card, headers: { "content-type": "application/jose" } });
      assert.deepEqual([up.status, up.body], [201, { files: 2 }]);

      const entry = await listed(host, token, link.id);
      assert.deepEqual(
        { ...entry },
        { id: link.id, url: link.url, label: "For Dr Who", flag: "LP", expiresAt, createdAt: link.createdAt, revoked: false, files: 2, attemptsLeft: 5, accesses: 0 },
      );
      const list = await api(host, "GET", "links", { token });
      assert.equal(list.body.links[0].id, link.id, "newest first");

      const served = await manifest(host, link.id, { passcode: "s3cret" });
      assert.equal(served.status, 200);
      assert.deepEqual(
        served.body.files.map((f) => [f.contentType, f.embedded]),
        [["application/fhir+json", first], ["application/smart-health-card", card]],
      );

      const revoked = await api(host, "DELETE", `links/${link.id}`, { token });
      assert.equal(revoked.status, 204);
      assert.equal((await manifest(host, link.id, { passcode: "s3cret" })).status, 404);
      const after = await listed(host, token, link.id);
      assert.deepEqual([after.revoked, after.files], [true, 0]);
      assert.deepEqual((await trail(host, token, link.id)).map((a) => a.outcome), ["served", "revoked"]);
      const late = await api(host, "POST", `links/${link.id}/files`, { token, body: fakeJwe() });
      assert.equal(late.status, 404, "no uploads to a revoked link");
    });

    test("missing and bad tokens get 401 and change nothing", async () => {
      const mine = await createLink(host, accounts.alice);
      const before = await listed(host, accounts.alice, mine.id);
      const auths = [
        {},
        { authorization: "Bearer" },
        { authorization: "Bearer " },
        { authorization: `Basic ${Buffer.from("alice:pw").toString("base64")}` },
        { authorization: "Bearer not-a-token" },
        { authorization: `Bearer ${accounts.alice}x` },
        { authorization: `Bearer ${accounts.alice.slice(0, -1)}` },
        { authorization: `Bearer ${"A".repeat(8000)}` },
        { authorization: `Token ${accounts.alice}` },
      ];
      const routes = [
        ["GET", "links"],
        ["POST", "links", JSON.stringify({ label: "x" })],
        ["POST", `links/${mine.id}/files`, fakeJwe()],
        ["DELETE", `links/${mine.id}`],
        ["GET", `links/${mine.id}/accesses`],
      ];
      for (const headers of auths) {
        for (const [method, path, body] of routes) {
          const answer = await api(host, method, path, { headers, body });
          assert.equal(answer.status, 401, `${method} ${path} with ${JSON.stringify(headers).slice(0, 60)}`);
          assert.match(answer.headers.get("www-authenticate") ?? "", /^Bearer/);
          assert.equal(answer.body.error, "unauthorized");
          assert.equal(typeof answer.body.message, "string");
        }
      }
      assert.deepEqual(await listed(host, accounts.alice, mine.id), before);
      assert.equal((await manifest(host, mine.id)).status, 200);
    });

    test("another account's link is 404 (never 403) and stays as it was", async () => {
      const mine = await createLink(host, accounts.alice, { label: "alice's" });
      const before = await listed(host, accounts.alice, mine.id);
      const unknown = b64u(randomBytes(32));
      for (const id of [mine.id, unknown, "not-an-id", "..%2F..%2Fetc"]) {
        for (const [method, path, body] of [
          ["DELETE", `links/${id}`],
          ["POST", `links/${id}/files`, fakeJwe()],
          ["GET", `links/${id}/accesses`],
        ]) {
          const answer = await api(host, method, path, { token: accounts.bob, body });
          assert.equal(answer.status, 404, `${method} ${path}`);
          assert.equal(answer.body.error, "not_found");
        }
      }
      assert.equal(await listed(host, accounts.bob, mine.id), undefined, "bob does not list alice's link");
      assert.deepEqual(await listed(host, accounts.alice, mine.id), before);
      const served = await manifest(host, mine.id);
      assert.equal(served.status, 200);
      assert.equal(served.body.files.length, 1);
    });

    test("bad input gets 400 and creates nothing", async () => {
      const token = accounts.alice;
      const count = async () => (await api(host, "GET", "links", { token })).body.links.length;
      const before = await count();
      for (const json of [
        { label: "x".repeat(81) },
        { label: 7 },
        { passcode: "" },
        { passcode: "x".repeat(257) },
        { passcode: 1234 },
        { expiresAt: nowSeconds() - 10 },
        { expiresAt: Date.now() * 1000 },
        { expiresAt: "tomorrow" },
        { flag: "U" },
        { flag: "P" },
        [],
        "text",
      ]) {
        const answer = await api(host, "POST", "links", { token, json });
        assert.equal(answer.status, 400, JSON.stringify(json).slice(0, 60));
        assert.equal(answer.body.error, "bad_request");
      }
      const notJson = await api(host, "POST", "links", { token, body: "{label:", headers: { "content-type": "application/json" } });
      assert.equal(notJson.status, 400);
      assert.equal(await count(), before);
      const link = await createLink(host, token, {}, []);
      for (const [query, body] of [
        ["", "not a jwe"],
        ["", "a.b.c.d"],
        ["", "a..c.d.e+"],
        ["", Buffer.from([0xff, 0xfe, 0x2e])],
        ["?contentType=text%2Fhtml", fakeJwe()],
      ]) {
        const answer = await api(host, "POST", `links/${link.id}/files${query}`, { token, body });
        assert.equal(answer.status, 400, `${query} ${String(body).slice(0, 20)}`);
      }
      assert.equal((await listed(host, token, link.id)).files, 0);
    });

    test("oversized uploads get 413 and leave the link as it was", async () => {
      const token = accounts.alice;
      const jwe = fakeJwe();
      const link = await createLink(host, token, {}, [jwe]);
      // Declared over the limit: refused before any of it is read.
      const huge = await raw(
        host.port,
        `POST /api/links/${link.id}/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/jose\r\nContent-Length: 10000000000\r\n\r\n`,
      );
      assert.match(huge, /^HTTP\/1\.1 413 /);
      // Declared just over the limit and sent.
      const big = fakeJwe(MAX_UPLOAD);
      assert.ok(big.length > MAX_UPLOAD);
      const over = await raw(
        host.port,
        `POST /api/links/${link.id}/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n${big}`,
      );
      assert.match(over, /^HTTP\/1\.1 413 /);
      assert.match(over, /"error":"payload_too_large"/);
      // Chunked, no declared length: read up to the limit, then refused.
      const chunks = [];
      for (let sent = 0; sent <= MAX_UPLOAD; sent += 8192) chunks.push(`2000\r\n${"A".repeat(8192)}\r\n`);
      const chunked = await raw(
        host.port,
        `POST /api/links/${link.id}/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunks.join("")}0\r\n\r\n`,
      );
      assert.match(chunked, /^HTTP\/1\.1 413 /);
      // Manifest requests are small: 64 KiB at most.
      const manifestBody = JSON.stringify({ recipient: "x".repeat(70_000) });
      const tooBig = await fetch(`${host.base}shl/${link.id}`, { method: "POST", body: manifestBody, headers: { "content-type": "application/json" } });
      assert.equal(tooBig.status, 413);
      // Just under the limit passes.
      const fits = "e30." + "", near = fakeJwe(Math.floor(((MAX_UPLOAD - 200) * 3) / 4));
      assert.ok(near.length <= MAX_UPLOAD && fits);
      const ok = await api(host, "POST", `links/${link.id}/files`, { token, body: near });
      assert.deepEqual([ok.status, ok.body], [201, { files: 2 }]);
      const served = await manifest(host, link.id, { embeddedLengthMax: 1_000_000 });
      assert.deepEqual(served.body.files.map((f) => f.embedded), [jwe, near], "only the accepted uploads are stored");
    });

    test("slowloris connections and unsent bodies do not stop others being served, and are dropped", async (t) => {
      const link = await createLink(host, accounts.alice);
      const sockets = [];
      const closed = [];
      const open = (onConnect) => {
        const socket = connect(host.port, "127.0.0.1", () => onConnect(socket));
        socket.on("error", () => {});
        let answer = "";
        socket.on("data", (chunk) => {
          answer += chunk;
        });
        closed.push(new Promise((resolve) => socket.on("close", () => resolve(answer))));
        sockets.push(socket);
      };
      const head = `POST /shl/${link.id} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Padding: ${"p".repeat(200)}\r\n\r\n`;
      for (let i = 0; i < 40; i++) {
        // Headers byte by byte, never finished.
        open((socket) => {
          let at = 0;
          const timer = setInterval(() => (socket.writable && at < head.length - 4 ? socket.write(head[at++]) : clearInterval(timer)), 100);
          socket.on("close", () => clearInterval(timer));
        });
        // A declared body never sent.
        open((socket) => socket.write(`POST /shl/${link.id} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n{"recipient":`));
        open((socket) => socket.write(`POST /api/links/${link.id}/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${accounts.alice}\r\nContent-Length: 60000\r\n\r\n`));
        // Connected, silent.
        open(() => {});
      }
      await sleep(300);
      const started = Date.now();
      const served = await manifest(host, link.id, { recipient: "Prompt" });
      const listedNow = await api(host, "GET", "links", { token: accounts.alice });
      const page = await fetch(host.base);
      const elapsed = Date.now() - started;
      assert.equal(served.status, 200);
      assert.equal(listedNow.status, 200);
      assert.equal(page.status, 200);
      assert.ok(elapsed < 1500, `a normal client was served in ${elapsed} ms while 160 slow connections were open`);
      t.diagnostic(`${store.name}: manifest + list + page served in ${elapsed} ms with 160 slow connections open`);
      // Header timeout 2 s, body timeout 2 s: every slow connection is gone soon after.
      const answers = await Promise.race([Promise.all(closed), sleep(8_000).then(() => null)]);
      assert.ok(answers, "the server closed every slow connection within 8 s");
      const bodyless = answers.filter((a) => a.startsWith("HTTP/1.1 408"));
      assert.equal(bodyless.length, 80, "the 80 requests whose bodies never came were answered 408");
      for (const socket of sockets) socket.destroy();
      assert.deepEqual((await trail(host, accounts.alice, link.id)).map((a) => [a.recipient, a.outcome]), [["Prompt", "served"]]);
      assert.equal((await listed(host, accounts.alice, link.id)).files, 1);
    });

    test("100 concurrent manifest requests are all answered correctly; concurrent wrong guesses spend exactly the attempts", async (t) => {
      const small = fakeJwe(300);
      const large = fakeJwe(4000);
      const link = await createLink(host, accounts.alice, { label: "busy" }, [small, large]);
      const burstStarted = performance.now();
      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => manifest(host, link.id, { recipient: `R${i}`, embeddedLengthMax: 1000 })));
      t.diagnostic(`${store.name}: 100 concurrent manifest requests answered in ${Math.round(performance.now() - burstStarted)} ms`);
      const locations = new Set();
      for (const answer of answers) {
        assert.equal(answer.status, 200);
        const [first, second] = answer.body.files;
        assert.equal(first.embedded, small);
        assert.equal(second.embedded, undefined);
        assert.ok(second.location.startsWith(`${host.base}shl/files/`));
        locations.add(second.location);
      }
      assert.equal(locations.size, 100, "every answer has its own one-time location");
      const fetched = await Promise.all([...locations].map((url) => fetch(url).then((r) => r.text())));
      assert.ok(fetched.every((text) => text === large));
      const served = await trail(host, accounts.alice, link.id);
      assert.equal(served.length, 100);
      assert.ok(served.every((a) => a.outcome === "served"));
      assert.equal(new Set(served.map((a) => a.recipient)).size, 100);

      // Passcodes are checked with PBKDF2 (slow on purpose): 30 parallel wrong guesses.
      const guessed = await createLink(host, accounts.alice, { passcode: "right" });
      const guessStarted = performance.now();
      const guesses = await Promise.all(Array.from({ length: 30 }, (_, i) => manifest(host, guessed.id, { recipient: `G${i}`, passcode: `wrong${i}` })));
      t.diagnostic(`${store.name}: 30 parallel wrong guesses answered in ${Math.round(performance.now() - guessStarted)} ms (5 counted, 25 locked)`);
      const refused = guesses.filter((g) => g.status === 401);
      assert.deepEqual(refused.map((g) => g.body.remainingAttempts).sort(), [0, 1, 2, 3, 4], "exactly five wrong guesses were counted, each once");
      assert.equal(guesses.filter((g) => g.status === 404).length, 25, "the rest found the link locked");
      const state = await listed(host, accounts.alice, guessed.id);
      assert.deepEqual([state.attemptsLeft, state.accesses], [0, 30]);
      const outcomes = (await trail(host, accounts.alice, guessed.id)).map((a) => a.outcome);
      assert.equal(outcomes.filter((o) => o === "wrongPasscode").length, 5);
      assert.equal(outcomes.filter((o) => o === "locked").length, 25);
      assert.equal((await manifest(host, guessed.id, { passcode: "right" })).status, 404, "locked for the right passcode too");
    });

    test("the access trail: wrong passcode, none, right, expired; only the owner reads it", async () => {
      const token = accounts.alice;
      const link = await createLink(host, token, { passcode: "open sesame", expiresAt: nowSeconds() + 6 });
      const wrong = await manifest(host, link.id, { recipient: "Dr Wrong", passcode: "open sesam" });
      assert.deepEqual([wrong.status, wrong.body], [401, { remainingAttempts: 4 }]);
      const none = await manifest(host, link.id, { recipient: "Dr None" });
      assert.deepEqual([none.status, none.body], [401, { remainingAttempts: 4 }]);
      const right = await manifest(host, link.id, { recipient: "Dr Right ✓", passcode: "open sesame" });
      assert.equal(right.status, 200);
      const started = nowSeconds();
      const accesses = await trail(host, token, link.id);
      assert.deepEqual(
        accesses.map((a) => [a.recipient, a.outcome]),
        [["Dr Wrong", "wrongPasscode"], ["Dr None", "noPasscode"], ["Dr Right ✓", "served"]],
      );
      for (const access of accesses) {
        assert.match(access.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.ok(Math.abs(Date.parse(access.at) / 1000 - started) <= 5);
      }
      assert.equal((await api(host, "GET", `links/${link.id}/accesses`, { token: accounts.bob })).status, 404);
      await sleep((link.expiresAt - nowSeconds() + 1) * 1000);
      assert.equal((await manifest(host, link.id, { recipient: "Dr Late", passcode: "open sesame" })).status, 404);
      const last = (await trail(host, token, link.id)).at(-1);
      assert.deepEqual([last.recipient, last.outcome], ["Dr Late", "expired"]);
    });

    test("two host processes on one database count wrong passcodes together; the account rate limit answers 429", async () => {
      // A second process on the same store, with 3 attempts per new link and 5 API requests a minute per account.
      const second = await startHost(storeArgs, ["--attempts", "3", "--api-rate", "5", "--manifest-rate", "3"]);
      try {
        const link = await createLink(second, accounts.alice, { passcode: "right" });
        assert.equal((await listed(host, accounts.alice, link.id)).attemptsLeft, 3, "the first process sees the link at once");
        const a = await manifest(host, link.id, { recipient: "A1", passcode: "x" });
        const b = await manifest(second, link.id, { recipient: "B1", passcode: "y" });
        const c = await manifest(host, link.id, { recipient: "A2", passcode: "z" });
        assert.deepEqual(
          [a, b, c].map((r) => [r.status, r.body.remainingAttempts]),
          [[401, 2], [401, 1], [401, 0]],
        );
        assert.equal((await manifest(second, link.id, { recipient: "B2", passcode: "right" })).status, 404);
        assert.equal((await manifest(host, link.id, { recipient: "A3", passcode: "right" })).status, 404);
        assert.deepEqual(
          (await trail(host, accounts.alice, link.id)).map((x) => [x.recipient, x.outcome]),
          [["A1", "wrongPasscode"], ["B1", "wrongPasscode"], ["A2", "wrongPasscode"], ["B2", "locked"], ["A3", "locked"]],
        );

        // Manifest rate limit (3 a second per link on the second process): a
        // flood of refusals adds one trail entry a second, not one per request.
        const busy = await createLink(second, accounts.alice);
        const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => manifest(second, busy.id, { recipient: `F${i}` })));
        const ok = burst.filter((r) => r.status === 200).length;
        const refused = burst.filter((r) => r.status === 429).length;
        assert.equal(ok + refused, 20);
        assert.ok(refused >= 10, `${refused} of 20 refused`);
        const flood = (await trail(host, accounts.alice, busy.id)).map((x) => x.outcome);
        assert.equal(flood.filter((o) => o === "served").length, ok);
        const limitedEntries = flood.filter((o) => o === "rateLimited").length;
        assert.ok(limitedEntries >= 1 && limitedEntries <= 2, `${limitedEntries} rateLimited entries for ${refused} refusals`);

        // Rate limit: dave gets 5 requests a minute on the second process.
        for (let i = 0; i < 5; i++) assert.equal((await api(second, "GET", "links", { token: accounts.dave })).status, 200);
        const limited = await api(second, "POST", "links", { token: accounts.dave, json: { label: "over" } });
        assert.equal(limited.status, 429);
        assert.equal(limited.body.error, "rate_limited");
        const retry = Number(limited.headers.get("retry-after"));
        assert.ok(retry >= 1 && retry <= 61, `Retry-After ${retry}`);
        assert.equal((await api(host, "GET", "links", { token: accounts.dave })).body.links.length, 0, "the limited request created nothing");
        assert.equal((await api(second, "GET", "links", { token: accounts.bob })).status, 200, "other accounts are not limited");
      } finally {
        await second.stop();
      }
    });
  });
}

describe("connection limit", () => {
  let dir;
  let host;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "ppsdk-host-"));
    host = await startHost(["--db", join(dir, "links.sqlite3")], ["--max-connections", "8"]);
  });
  after(async () => {
    await host?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("connections past --max-connections wait for a slot; silent ones are dropped after the header timeout", async () => {
    const silent = [];
    const gone = [];
    for (let i = 0; i < 8; i++) {
      const socket = connect(host.port, "127.0.0.1");
      socket.on("error", () => {});
      gone.push(new Promise((resolve) => socket.on("close", resolve)));
      silent.push(socket);
    }
    await sleep(300);
    const started = Date.now();
    const page = await fetch(`${host.base}api/links`, { headers: { authorization: `Bearer ${host.start.host.token}` } });
    const elapsed = Date.now() - started;
    assert.equal(page.status, 200);
    assert.ok(elapsed >= 1000, `the ninth connection waited for a slot (${elapsed} ms)`);
    assert.ok(elapsed < 6000, `and was served once the silent ones were dropped (${elapsed} ms)`);
    await Promise.race([Promise.all(gone), sleep(5000).then(() => assert.fail("silent connections still open"))]);
    for (const socket of silent) socket.destroy();
  });
});

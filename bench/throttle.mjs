// Slows whole renderer processes (every thread: the page's, its workers',
// the compositor's) by a duty cycle: each runs for one quantum, then is
// stopped (SIGSTOP) for rate − 1 quanta. CDP's Emulation.setCPUThrottlingRate
// slows only a page's main thread ("only supported for pages, not workers"),
// so worker mode needs this to be measured phone-class at all. The page loads
// of the main-thread path are measured both ways, which shows how the two
// slowdowns compare.
//
// The duty cycle runs in a child process at real-time priority (`chrt -f`,
// where the machine allows it), so that its own wake-ups are on time while
// the renderer's threads keep both cores busy. The renderer processes are
// listed through the browser's CDP session (SystemInfo.getProcessInfo) and
// listed again every 50 ms, since a navigation may start a new one. Linux
// only (signals to local processes).

import { spawn, spawnSync } from "node:child_process";

const LOOP = `
const sleep = new Int32Array(new SharedArrayBuffer(4));
const wait = (ms) => Atomics.wait(sleep, 0, 0, ms);
const [quantum, rate] = process.argv.slice(1).map(Number);
let pids = [];
let done = false;
let buffered = "";
process.stdin.on("data", (d) => {
  buffered += d;
  const lines = buffered.split("\\n");
  buffered = lines.pop();
  for (const line of lines) {
    if (line === "stop") done = true;
    else pids = JSON.parse(line);
  }
});
const signal = (sig) => { for (const pid of pids) { try { process.kill(pid, sig); } catch {} } };
let cycles = 0;
let late = 0;
(async () => {
  while (!done) {
    const t0 = performance.now();
    signal("SIGCONT");
    wait(quantum);
    signal("SIGSTOP");
    wait(quantum * (rate - 1));
    cycles++;
    if (performance.now() - t0 > quantum * rate * 1.5) late++;
    // Lets the pid list arrive.
    await new Promise((r) => setImmediate(r));
  }
  signal("SIGCONT");
  process.stdout.write(JSON.stringify({ cycles, late }) + "\\n");
  process.exit(0);
})();
`;

const realtime = spawnSync("chrt", ["-f", "50", "true"]).status === 0;

/**
 * Starts slowing `browser`'s renderer processes `rate` times; resolves to a
 * function that stops it (every process continued) and resolves to the
 * cycles run and how many of them were late (over 1.5× their length).
 */
export async function throttleRenderers(browser, rate, quantumMs = 2) {
  const cdp = await browser.newBrowserCDPSession();
  const argv = ["-e", LOOP, String(quantumMs), String(rate)];
  const child = realtime ? spawn("chrt", ["-f", "50", process.execPath, ...argv], { stdio: ["pipe", "pipe", "inherit"] }) : spawn(process.execPath, argv, { stdio: ["pipe", "pipe", "inherit"] });
  const report = new Promise((resolve) => {
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", () => resolve(out ? JSON.parse(out) : null));
  });
  let listing = true;
  const list = async () => {
    const { processInfo } = await cdp.send("SystemInfo.getProcessInfo");
    child.stdin.write(JSON.stringify(processInfo.filter((p) => p.type === "renderer").map((p) => p.id)) + "\n");
  };
  await list();
  const refresh = (async () => {
    while (listing) {
      await new Promise((r) => setTimeout(r, 50));
      if (listing) await list().catch(() => {});
    }
  })();
  return async () => {
    listing = false;
    await refresh;
    child.stdin.write("stop\n");
    const result = await report;
    await cdp.detach().catch(() => {});
    return result;
  };
}

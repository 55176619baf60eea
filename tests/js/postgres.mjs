// A throwaway PostgreSQL cluster on loopback for the link-host tests:
// initdb in a temporary directory, the server on 127.0.0.1 at a free port
// (trust authentication, Unix socket inside the directory), one database,
// and everything removed by stop().
//
// The server programs come from PATH or /usr/lib/postgresql/<version>/bin;
// when they are missing, scripts/ensure-postgres.sh installs Debian's
// `postgresql` first. Where PostgreSQL cannot be installed, startPostgres()
// resolves to { skip: "<why>" } so the tests can skip with that message.
// initdb refuses to run as root: as root, the cluster belongs to the
// `postgres` user (runuser).

import { execFile } from "node:child_process";
import { existsSync, readdirSync, realpathSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The directory of initdb, pg_ctl and createdb (PATH entries may be symbolic links into it). */
function findBin() {
  const complete = (dir) => ["initdb", "pg_ctl", "createdb"].every((p) => existsSync(join(dir, p)));
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (!dir || !existsSync(join(dir, "initdb"))) continue;
    const real = dirname(realpathSync(join(dir, "initdb")));
    if (complete(real)) return real;
  }
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => complete(join(base, v, "bin")))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(base, versions[0], "bin") : null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function uidOf(name) {
  const { stdout } = await exec("id", ["-u", name]);
  const { stdout: gid } = await exec("id", ["-g", name]);
  return { uid: Number(stdout.trim()), gid: Number(gid.trim()) };
}

/**
 * Starts a cluster: `{ url, stop }` (url = postgres://postgres@127.0.0.1:PORT/hosttest),
 * or `{ skip }` with the reason PostgreSQL is unavailable.
 */
export async function startPostgres({ database = "hosttest" } = {}) {
  let bin = findBin();
  if (!bin) {
    try {
      const { stderr } = await exec(join(ROOT, "scripts/ensure-postgres.sh"), [], { maxBuffer: 1 << 24 });
      if (stderr.trim()) process.stderr.write(stderr);
    } catch (err) {
      return { skip: `PostgreSQL is not installed and could not be installed: ${err.message}` };
    }
    bin = findBin();
    if (!bin) return { skip: "PostgreSQL is not installed and could not be installed (see scripts/ensure-postgres.sh)" };
  }
  const asRoot = userInfo().uid === 0;
  let owner = null;
  if (asRoot) {
    try {
      owner = await uidOf("postgres");
    } catch {
      return { skip: "running as root and there is no `postgres` user to own a test cluster" };
    }
  }
  const run = (program, args) =>
    asRoot ? exec("runuser", ["-u", "postgres", "--", join(bin, program), ...args]) : exec(join(bin, program), args);

  const dir = await mkdtemp(join(tmpdir(), "ppsdk-pg-"));
  const data = join(dir, "data");
  if (owner) await chown(dir, owner.uid, owner.gid);
  const stop = async () => {
    await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    const port = await freePort();
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c max_connections=200`;
    await run("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
    await exec(join(bin, "createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", database]);
    return { url: `postgres://postgres@127.0.0.1:${port}/${database}`, port, stop };
  } catch (err) {
    await stop();
    throw new Error(`could not start a PostgreSQL test cluster with ${bin}: ${err.stderr || err.message}`);
  }
}

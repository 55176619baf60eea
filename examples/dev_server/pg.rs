//! The PostgreSQL [`Store`]: several host processes share one database, and
//! with it the passcode attempt counts (spent by one conditional `UPDATE`),
//! the accounts and the access trail.
//!
//! Connections come from a small pool of `postgres` clients; the schema is
//! created at start if absent, under an advisory lock so processes starting
//! together do not race.

use std::sync::{Condvar, Mutex, MutexGuard};

use postgres::{Client, NoTls};
use zeroize::Zeroizing;

use crate::store::{recipient_text, Access, LinkState, LinkSummary, NewFile, NewLink, Outcome, Result, Store, StoredFile};

/// Most connections one process opens; further work waits for one.
const POOL: usize = 16;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    token_sha256 BYTEA NOT NULL,
    created      BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
    id            TEXT PRIMARY KEY,
    passcode_salt BYTEA,
    passcode_hash BYTEA,
    attempts_left BIGINT NOT NULL,
    exp           BIGINT,
    revoked       BOOLEAN NOT NULL DEFAULT FALSE,
    flags         TEXT NOT NULL DEFAULT '',
    label         TEXT,
    created       BIGINT NOT NULL,
    demo          BOOLEAN NOT NULL DEFAULT FALSE,
    account_id    BIGINT REFERENCES accounts(id),
    seq           BIGSERIAL
);
CREATE TABLE IF NOT EXISTS files (
    link_id      TEXT NOT NULL REFERENCES links(id) ON DELETE CASCADE,
    position     BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    jwe          TEXT NOT NULL,
    last_updated BIGINT NOT NULL,
    PRIMARY KEY (link_id, position)
);
CREATE TABLE IF NOT EXISTS issuer_keys (
    kid     TEXT PRIMARY KEY,
    secret  BYTEA NOT NULL,
    created BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS accesses (
    id        BIGSERIAL PRIMARY KEY,
    link_id   TEXT NOT NULL REFERENCES links(id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    at        BIGINT NOT NULL,
    outcome   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS links_account ON links (account_id, created);
CREATE INDEX IF NOT EXISTS accesses_link ON accesses (link_id, id);
";

/// The PostgreSQL store.
pub struct Postgres {
    url: String,
    shown: String,
    pool: Mutex<Pool>,
    returned: Condvar,
}

/// Idle connections and how many are open in all.
struct Pool {
    idle: Vec<Client>,
    open: usize,
}

impl Postgres {
    /// Connects to `url` (`postgres://user[:password]@host:port/db`) and
    /// creates the schema if absent.
    pub fn open(url: &str) -> std::result::Result<Self, String> {
        let config: postgres::Config = url.parse().map_err(|e| format!("--postgres: {e}"))?;
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .map(|host| match host {
                postgres::config::Host::Tcp(name) => name.clone(),
                postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let shown = format!("PostgreSQL {}:{port}/{}", hosts.join(","), config.get_dbname().unwrap_or(""));
        let store = Self { url: url.to_owned(), shown, pool: Mutex::new(Pool { idle: Vec::new(), open: 0 }), returned: Condvar::new() };
        store
            .with(|client| {
                let mut tx = client.transaction()?;
                tx.execute("SELECT pg_advisory_xact_lock(7716001)", &[])?;
                tx.batch_execute(SCHEMA)?;
                tx.commit()
            })
            .map_err(|e| format!("{}: {e}", store.shown))?;
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle connection, a new one while fewer than [`POOL`] are open, or
    /// the next one returned.
    fn take(&self) -> Result<Client> {
        let mut pool = self.lock();
        loop {
            if let Some(client) = pool.idle.pop() {
                if !client.is_closed() {
                    return Ok(client);
                }
                pool.open = pool.open.saturating_sub(1);
                continue;
            }
            if pool.open < POOL {
                pool.open += 1;
                drop(pool);
                return Client::connect(&self.url, NoTls).map_err(|err| {
                    self.lock().open -= 1;
                    self.returned.notify_one();
                    err.into()
                });
            }
            pool = self.returned.wait(pool).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Runs `work` on a pooled connection.
    fn with<T>(&self, work: impl FnOnce(&mut Client) -> std::result::Result<T, postgres::Error>) -> Result<T> {
        let mut client = self.take()?;
        let outcome = work(&mut client);
        let mut pool = self.lock();
        if client.is_closed() {
            pool.open = pool.open.saturating_sub(1);
        } else {
            pool.idle.push(client);
        }
        drop(pool);
        self.returned.notify_one();
        Ok(outcome?)
    }
}

impl Store for Postgres {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn insert_link(&self, link: &NewLink<'_>) -> Result<()> {
        let (salt, hash) = link.passcode_hash();
        self.with(|client| {
            let mut tx = client.transaction()?;
            tx.execute(
                "INSERT INTO links (id, passcode_salt, passcode_hash, attempts_left, exp, revoked, flags, label, created, demo, account_id)
                 VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7, $8, $9, $10)",
                &[&link.id, &salt, &hash, &i64::from(link.attempts), &link.exp, &link.flags, &link.label, &link.created, &link.demo, &link.account],
            )?;
            for (position, file) in link.files.iter().enumerate() {
                tx.execute(
                    "INSERT INTO files (link_id, position, content_type, jwe, last_updated) VALUES ($1, $2, $3, $4, $5)",
                    &[&link.id, &(position as i64), &file.content_type, &file.jwe, &link.created],
                )?;
            }
            tx.commit()
        })
    }

    fn add_file(&self, id: &str, account: i64, file: &NewFile, now: i64) -> Result<Option<i64>> {
        self.with(|client| {
            let mut tx = client.transaction()?;
            // Locks the link row: uploads to one link are numbered one at a time.
            let owned = tx.query_opt("SELECT 1 FROM links WHERE id = $1 AND account_id = $2 AND NOT revoked FOR UPDATE", &[&id, &account])?;
            if owned.is_none() {
                return Ok(None);
            }
            let position: i64 = tx.query_one("SELECT COALESCE(MAX(position) + 1, 0)::BIGINT FROM files WHERE link_id = $1", &[&id])?.get(0);
            tx.execute(
                "INSERT INTO files (link_id, position, content_type, jwe, last_updated) VALUES ($1, $2, $3, $4, $5)",
                &[&id, &position, &file.content_type, &file.jwe, &now],
            )?;
            tx.commit()?;
            Ok(Some(position + 1))
        })
    }

    fn revoke(&self, id: &str, account: Option<i64>) -> Result<bool> {
        self.with(|client| {
            let mut tx = client.transaction()?;
            let changed = tx.execute("UPDATE links SET revoked = TRUE WHERE id = $1 AND ($2::BIGINT IS NULL OR account_id = $2)", &[&id, &account])?;
            if changed > 0 {
                tx.execute("DELETE FROM files WHERE link_id = $1", &[&id])?;
            }
            tx.commit()?;
            Ok(changed > 0)
        })
    }

    fn delete_demo_links(&self) -> Result<usize> {
        self.with(|client| client.execute("DELETE FROM links WHERE demo", &[]).map(|n| n as usize))
    }

    fn link(&self, id: &str) -> Result<Option<LinkState>> {
        self.with(|client| {
            let row = client.query_opt("SELECT flags, revoked, exp, attempts_left, passcode_salt, passcode_hash FROM links WHERE id = $1", &[&id])?;
            Ok(row.map(|row| LinkState {
                flags: row.get(0),
                revoked: row.get(1),
                exp: row.get(2),
                attempts_left: row.get(3),
                passcode_salt: row.get(4),
                passcode_hash: row.get(5),
            }))
        })
    }

    fn spend_attempt(&self, id: &str) -> Result<Option<i64>> {
        self.with(|client| {
            let row =
                client.query_opt("UPDATE links SET attempts_left = attempts_left - 1 WHERE id = $1 AND attempts_left > 0 RETURNING attempts_left", &[&id])?;
            Ok(row.map(|row| row.get(0)))
        })
    }

    fn files(&self, id: &str) -> Result<Vec<StoredFile>> {
        self.with(|client| {
            let rows = client.query("SELECT position, content_type, jwe, last_updated FROM files WHERE link_id = $1 ORDER BY position", &[&id])?;
            Ok(rows.into_iter().map(|row| StoredFile { position: row.get(0), content_type: row.get(1), jwe: row.get(2), last_updated: row.get(3) }).collect())
        })
    }

    fn file_at(&self, id: &str, position: i64) -> Result<Option<String>> {
        self.with(|client| {
            let row = client.query_opt("SELECT jwe FROM files WHERE link_id = $1 AND position = $2", &[&id, &position])?;
            Ok(row.map(|row| row.get(0)))
        })
    }

    fn record_access(&self, id: &str, recipient: &str, at: i64, outcome: Outcome) -> Result<()> {
        let recipient = recipient_text(recipient);
        self.with(|client| {
            client.execute(
                "INSERT INTO accesses (link_id, recipient, at, outcome)
                 SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM links WHERE id = $1)",
                &[&id, &recipient, &at, &outcome.as_str()],
            )?;
            Ok(())
        })
    }

    fn accesses(&self, id: &str, account: i64) -> Result<Option<Vec<Access>>> {
        self.with(|client| {
            if client.query_opt("SELECT 1 FROM links WHERE id = $1 AND account_id = $2", &[&id, &account])?.is_none() {
                return Ok(None);
            }
            let rows = client.query("SELECT recipient, at, outcome FROM accesses WHERE link_id = $1 ORDER BY id", &[&id])?;
            Ok(Some(rows.into_iter().map(|row| Access { recipient: row.get(0), at: row.get(1), outcome: row.get(2) }).collect()))
        })
    }

    fn list_links(&self, account: i64) -> Result<Vec<LinkSummary>> {
        self.with(|client| {
            let rows = client.query(
                "SELECT l.id, l.label, l.flags, l.exp, l.created, l.revoked, l.attempts_left,
                        (SELECT COUNT(*) FROM files f WHERE f.link_id = l.id),
                        (SELECT COUNT(*) FROM accesses a WHERE a.link_id = l.id)
                 FROM links l WHERE l.account_id = $1 ORDER BY l.created DESC, l.seq DESC",
                &[&account],
            )?;
            Ok(rows
                .into_iter()
                .map(|row| LinkSummary {
                    id: row.get(0),
                    label: row.get(1),
                    flags: row.get(2),
                    exp: row.get(3),
                    created: row.get(4),
                    revoked: row.get(5),
                    attempts_left: row.get(6),
                    files: row.get(7),
                    accesses: row.get(8),
                })
                .collect())
        })
    }

    fn account_by_token(&self, token_sha256: &[u8]) -> Result<Option<i64>> {
        self.with(|client| {
            let row = client.query_opt("SELECT id FROM accounts WHERE token_sha256 = $1", &[&token_sha256])?;
            Ok(row.map(|row| row.get(0)))
        })
    }

    fn upsert_account(&self, name: &str, token_sha256: &[u8], now: i64) -> Result<i64> {
        self.with(|client| {
            let row = client.query_one(
                "INSERT INTO accounts (name, token_sha256, created) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256 RETURNING id",
                &[&name, &token_sha256, &now],
            )?;
            Ok(row.get(0))
        })
    }

    fn issuer_secret(&self, candidate: &[u8; 32], kid: &str, now: i64) -> Result<Zeroizing<[u8; 32]>> {
        let stored: Zeroizing<Vec<u8>> = self.with(|client| {
            let mut tx = client.transaction()?;
            tx.execute("LOCK TABLE issuer_keys IN EXCLUSIVE MODE", &[])?;
            let existing = tx.query_opt("SELECT secret FROM issuer_keys ORDER BY created, kid LIMIT 1", &[])?;
            let secret = match existing {
                Some(row) => row.get::<_, Vec<u8>>(0),
                None => {
                    tx.execute("INSERT INTO issuer_keys (kid, secret, created) VALUES ($1, $2, $3)", &[&kid, &candidate.as_slice(), &now])?;
                    candidate.to_vec()
                }
            };
            tx.commit()?;
            Ok(Zeroizing::new(secret))
        })?;
        let secret = <[u8; 32]>::try_from(stored.as_slice()).unwrap_or(*candidate);
        Ok(Zeroizing::new(secret))
    }
}

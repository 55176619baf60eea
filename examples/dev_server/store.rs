//! SQLite storage of the link host.
//!
//! Holds, per link: the id, the passcode as a PBKDF2-HMAC-SHA256 hash (never
//! the passcode), the remaining wrong-passcode attempts, expiry, revocation,
//! flags, label, creation time and a `demo` marker; per file: the content type
//! and the compact JWE. It never holds a content-encryption key. It also keeps
//! the backend's SMART Health Card issuer signing key.
//!
//! One connection behind a mutex per process, WAL journal and a busy timeout,
//! so the server and the `create-link`/`revoke` commands can share the file.
//! The passcode check and the attempt decrement run inside one `IMMEDIATE`
//! transaction under that mutex: parallel guesses are serialised and can never
//! spend more than the lifetime count.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use pbkdf2::pbkdf2_hmac;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::Sha256;
use zeroize::Zeroizing;

/// PBKDF2 iterations for passcodes.
const PBKDF2_ROUNDS: u32 = 100_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS links (
    id            TEXT PRIMARY KEY,
    passcode_salt BLOB,
    passcode_hash BLOB,
    attempts_left INTEGER NOT NULL,
    exp           INTEGER,
    revoked       INTEGER NOT NULL DEFAULT 0,
    flags         TEXT NOT NULL DEFAULT '',
    label         TEXT,
    created       INTEGER NOT NULL,
    demo          INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS files (
    link_id      TEXT NOT NULL REFERENCES links(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    jwe          TEXT NOT NULL,
    last_updated INTEGER NOT NULL,
    PRIMARY KEY (link_id, position)
);
CREATE TABLE IF NOT EXISTS issuer_keys (
    kid     TEXT PRIMARY KEY,
    secret  BLOB NOT NULL,
    created INTEGER NOT NULL
);
PRAGMA user_version = 1;
";

pub type Result<T> = std::result::Result<T, rusqlite::Error>;

/// A file to store: its content type and its compact JWE.
pub struct NewFile {
    pub content_type: String,
    pub jwe: String,
}

/// A link to store.
pub struct NewLink<'a> {
    pub id: &'a str,
    pub passcode: Option<&'a str>,
    pub attempts: u32,
    pub exp: Option<i64>,
    pub flags: &'a str,
    pub label: Option<&'a str>,
    pub demo: bool,
    pub created: i64,
    pub files: Vec<NewFile>,
}

/// A stored file as the manifest needs it.
pub struct StoredFile {
    pub position: i64,
    pub content_type: String,
    pub jwe: String,
    pub last_updated: i64,
}

/// The state of a link, without its files.
pub struct LinkState {
    pub flags: String,
    revoked: bool,
    exp: Option<i64>,
    attempts_left: i64,
}

impl LinkState {
    /// Not revoked, not expired, not locked out.
    pub fn is_active(&self, now: i64) -> bool {
        !self.revoked && self.exp.is_none_or(|exp| now < exp) && self.attempts_left > 0
    }

    pub fn has_flag(&self, flag: char) -> bool {
        self.flags.contains(flag)
    }
}

/// The outcome of a manifest request against the store.
pub enum Manifest {
    /// Unknown, inactive, or a `U` link (which has no manifest).
    NotFound,
    /// `P` link and no passcode given: nothing spent.
    PasscodeRequired {
        remaining: i64,
    },
    /// Wrong passcode: one attempt spent, `remaining` left (0 = disabled).
    WrongPasscode {
        remaining: i64,
    },
    Files(Vec<StoredFile>),
}

/// The database.
pub struct Store {
    connection: Mutex<Connection>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, and its directory.
    pub fn open(path: &Path) -> std::result::Result<Self, String> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let fail = |e: rusqlite::Error| format!("database {}: {e}", path.display());
        let connection = Connection::open(path).map_err(fail)?;
        connection.busy_timeout(Duration::from_secs(10)).map_err(fail)?;
        let mode: String =
            connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            eprintln!("warning: the database is in {mode} mode, not WAL");
        }
        connection.pragma_update(None, "foreign_keys", "ON").map_err(fail)?;
        connection.pragma_update(None, "synchronous", "NORMAL").map_err(fail)?;
        connection.execute_batch(SCHEMA).map_err(fail)?;
        Ok(Self { connection: Mutex::new(connection), path: path.to_owned() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions
        // roll back on drop), so a poisoned mutex is still usable.
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores a new link and its files in one transaction. The passcode, if
    /// any, is stored only as a salted PBKDF2 hash.
    pub fn insert_link(&self, link: &NewLink<'_>) -> Result<()> {
        let (salt, hash) = match link.passcode {
            Some(passcode) => {
                let salt = crate::random::<16>();
                let hash = hash_passcode(passcode, &salt);
                (Some(salt.to_vec()), Some(hash.to_vec()))
            }
            None => (None, None),
        };
        let mut connection = self.lock();
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO links (id, passcode_salt, passcode_hash, attempts_left, exp, revoked, flags, label, created, demo)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9)",
            params![link.id, salt, hash, link.attempts, link.exp, link.flags, link.label, link.created, link.demo],
        )?;
        for (position, file) in link.files.iter().enumerate() {
            tx.execute(
                "INSERT INTO files (link_id, position, content_type, jwe, last_updated) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![link.id, position as i64, file.content_type, file.jwe, link.created],
            )?;
        }
        tx.commit()
    }

    /// Marks a link revoked and drops its files. `false` if there is no such link.
    pub fn revoke(&self, id: &str) -> Result<bool> {
        let mut connection = self.lock();
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute("UPDATE links SET revoked = 1 WHERE id = ?1", [id])?;
        tx.execute("DELETE FROM files WHERE link_id = ?1", [id])?;
        tx.commit()?;
        Ok(changed > 0)
    }

    /// Deletes every link marked `demo` (and its files).
    pub fn delete_demo_links(&self) -> Result<usize> {
        let connection = self.lock();
        connection.execute("DELETE FROM links WHERE demo = 1", [])
    }

    /// The state of a link, if it exists.
    pub fn link(&self, id: &str) -> Result<Option<LinkState>> {
        let connection = self.lock();
        link_state(&connection, id)
    }

    /// One file of an active link.
    pub fn file(&self, id: &str, position: i64, now: i64) -> Result<Option<String>> {
        let connection = self.lock();
        if !link_state(&connection, id)?.is_some_and(|link| link.is_active(now)) {
            return Ok(None);
        }
        connection
            .query_row("SELECT jwe FROM files WHERE link_id = ?1 AND position = ?2", params![id, position], |row| {
                row.get(0)
            })
            .optional()
    }

    /// A manifest request: checks that the link is active and has a manifest,
    /// checks the passcode of a `P` link (spending an attempt when it is
    /// wrong), and returns the files. Serialised: see the module docs.
    pub fn manifest(&self, id: &str, passcode: Option<&str>, now: i64) -> Result<Manifest> {
        let mut connection = self.lock();
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(link) = link_state(&tx, id)? else {
            return Ok(Manifest::NotFound);
        };
        if !link.is_active(now) || link.has_flag('U') {
            return Ok(Manifest::NotFound);
        }
        if link.has_flag('P') {
            let Some(passcode) = passcode else {
                return Ok(Manifest::PasscodeRequired { remaining: link.attempts_left });
            };
            let (salt, expected): (Vec<u8>, Vec<u8>) =
                tx.query_row("SELECT passcode_salt, passcode_hash FROM links WHERE id = ?1", [id], |row| {
                    Ok((
                        row.get::<_, Option<Vec<u8>>>(0)?.unwrap_or_default(),
                        row.get::<_, Option<Vec<u8>>>(1)?.unwrap_or_default(),
                    ))
                })?;
            let actual = hash_passcode(passcode, &salt);
            if expected.is_empty() || !constant_time_eq(actual.as_slice(), &expected) {
                tx.execute(
                    "UPDATE links SET attempts_left = attempts_left - 1 WHERE id = ?1 AND attempts_left > 0",
                    [id],
                )?;
                let remaining: i64 =
                    tx.query_row("SELECT attempts_left FROM links WHERE id = ?1", [id], |row| row.get(0))?;
                tx.commit()?;
                return Ok(Manifest::WrongPasscode { remaining });
            }
        }
        let files = {
            let mut statement = tx.prepare(
                "SELECT position, content_type, jwe, last_updated FROM files WHERE link_id = ?1 ORDER BY position",
            )?;
            let rows = statement.query_map([id], |row| {
                Ok(StoredFile {
                    position: row.get(0)?,
                    content_type: row.get(1)?,
                    jwe: row.get(2)?,
                    last_updated: row.get(3)?,
                })
            })?;
            rows.collect::<Result<Vec<_>>>()?
        };
        tx.commit()?;
        Ok(Manifest::Files(files))
    }

    /// The issuer signing key (32 secret bytes), created by `generate` and
    /// stored under `kid_of(secret)` the first time.
    pub fn issuer_secret(
        &self,
        generate: impl FnOnce() -> Zeroizing<[u8; 32]>,
        kid_of: impl FnOnce(&[u8; 32]) -> String,
        now: i64,
    ) -> Result<Zeroizing<[u8; 32]>> {
        let mut connection = self.lock();
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<Vec<u8>> = tx
            .query_row("SELECT secret FROM issuer_keys ORDER BY created, kid LIMIT 1", [], |row| row.get(0))
            .optional()?;
        if let Some(bytes) = existing.map(Zeroizing::new) {
            if let Ok(secret) = <[u8; 32]>::try_from(bytes.as_slice()) {
                return Ok(Zeroizing::new(secret));
            }
        }
        let secret = generate();
        tx.execute(
            "INSERT INTO issuer_keys (kid, secret, created) VALUES (?1, ?2, ?3)",
            params![kid_of(&secret), secret.as_slice(), now],
        )?;
        tx.commit()?;
        Ok(secret)
    }
}

fn link_state(connection: &Connection, id: &str) -> Result<Option<LinkState>> {
    connection
        .query_row("SELECT flags, revoked, exp, attempts_left FROM links WHERE id = ?1", [id], |row| {
            Ok(LinkState { flags: row.get(0)?, revoked: row.get(1)?, exp: row.get(2)?, attempts_left: row.get(3)? })
        })
        .optional()
}

fn hash_passcode(passcode: &str, salt: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    pbkdf2_hmac::<Sha256>(passcode.as_bytes(), salt, PBKDF2_ROUNDS, out.as_mut_slice());
    out
}

/// Compares without an early exit, so timing does not reveal how many leading
/// bytes matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

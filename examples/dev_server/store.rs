//! Storage of the link host behind the [`Store`] trait: SQLite ([`Sqlite`],
//! the embedded default) and PostgreSQL ([`crate::pg::Postgres`], for several
//! host processes sharing one database).
//!
//! Holds, per link: the id, the owning account, the passcode as a
//! PBKDF2-HMAC-SHA256 hash (never the passcode), the remaining wrong-passcode
//! attempts, expiry, revocation, flags, label, creation time and a `demo`
//! marker; per file: the content type and the compact JWE; per manifest
//! request: the access trail (recipient, time, outcome). Accounts are stored
//! by the SHA-256 of their bearer token. It never holds a content-encryption
//! key. It also keeps the backend's SMART Health Card issuer signing key.
//!
//! The passcode is checked outside the database, and a wrong one spends an
//! attempt with a single conditional `UPDATE … WHERE attempts_left > 0
//! RETURNING attempts_left`: parallel guesses, from one process or several
//! sharing a PostgreSQL database, can never spend more than the lifetime
//! count.
//!
//! SQLite: one connection behind a mutex per process, WAL journal and a busy
//! timeout, so the server and the `create-link`/`revoke`/`create-account`
//! commands can share the file.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use pbkdf2::pbkdf2_hmac;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// PBKDF2 iterations for passcodes.
const PBKDF2_ROUNDS: u32 = 100_000;
/// Longest recipient kept in the access trail (characters).
pub const MAX_RECIPIENT: usize = 256;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    token_sha256 BLOB NOT NULL,
    created      INTEGER NOT NULL
);
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
    demo          INTEGER NOT NULL DEFAULT 0,
    account_id    INTEGER REFERENCES accounts(id)
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
CREATE TABLE IF NOT EXISTS accesses (
    id        INTEGER PRIMARY KEY,
    link_id   TEXT NOT NULL REFERENCES links(id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    at        INTEGER NOT NULL,
    outcome   TEXT NOT NULL
);
";

/// Indexes, created after the migration of older databases.
const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS links_account ON links (account_id, created);
CREATE INDEX IF NOT EXISTS accesses_link ON accesses (link_id, id);
PRAGMA user_version = 2;
";

/// A storage error, as text (the driver's message; never record content).
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        Self(format!("SQLite: {err}"))
    }
}

impl From<postgres::Error> for StoreError {
    fn from(err: postgres::Error) -> Self {
        Self(format!("PostgreSQL: {err}"))
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

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
    pub account: Option<i64>,
    pub files: Vec<NewFile>,
}

impl NewLink<'_> {
    /// The salt and PBKDF2 hash of the passcode, if any.
    pub fn passcode_hash(&self) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        match self.passcode {
            Some(passcode) => {
                let salt = crate::random::<16>();
                let hash = hash_passcode(passcode, &salt);
                (Some(salt.to_vec()), Some(hash.to_vec()))
            }
            None => (None, None),
        }
    }
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
    pub revoked: bool,
    pub exp: Option<i64>,
    pub attempts_left: i64,
    pub passcode_salt: Option<Vec<u8>>,
    pub passcode_hash: Option<Vec<u8>>,
}

impl LinkState {
    /// Not revoked, not expired, not locked out.
    pub fn is_active(&self, now: i64) -> bool {
        self.inactive(now).is_none()
    }

    /// Why the link is not active, if it is not.
    pub fn inactive(&self, now: i64) -> Option<Outcome> {
        if self.revoked {
            Some(Outcome::Revoked)
        } else if self.exp.is_some_and(|exp| now >= exp) {
            Some(Outcome::Expired)
        } else if self.attempts_left <= 0 {
            Some(Outcome::Locked)
        } else {
            None
        }
    }

    pub fn has_flag(&self, flag: char) -> bool {
        self.flags.contains(flag)
    }
}

/// A link as its owner lists it.
pub struct LinkSummary {
    pub id: String,
    pub label: Option<String>,
    pub flags: String,
    pub exp: Option<i64>,
    pub created: i64,
    pub revoked: bool,
    pub files: i64,
    pub attempts_left: i64,
    pub accesses: i64,
}

/// One entry of the access trail.
pub struct Access {
    pub recipient: String,
    pub at: i64,
    pub outcome: String,
}

/// What became of a manifest or direct file request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    Served,
    WrongPasscode,
    NoPasscode,
    Expired,
    Revoked,
    Locked,
    RateLimited,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Served => "served",
            Self::WrongPasscode => "wrongPasscode",
            Self::NoPasscode => "noPasscode",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Locked => "locked",
            Self::RateLimited => "rateLimited",
        }
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

/// Link, account, access-trail and issuer-key storage.
pub trait Store: Send + Sync {
    /// What the store is, for the start-up text (no password).
    fn describe(&self) -> String;
    /// Stores a new link and its files in one transaction.
    fn insert_link(&self, link: &NewLink<'_>) -> Result<()>;
    /// Appends a file to an active link of `account`: the new file count, or
    /// `None` if there is no such link (or it is revoked).
    fn add_file(&self, id: &str, account: i64, file: &NewFile, now: i64) -> Result<Option<i64>>;
    /// Marks a link revoked and drops its files (only `account`'s, if given).
    /// `false` if there is no such link.
    fn revoke(&self, id: &str, account: Option<i64>) -> Result<bool>;
    /// Deletes every link marked `demo` (and its files and accesses).
    fn delete_demo_links(&self) -> Result<usize>;
    /// The state of a link, if it exists.
    fn link(&self, id: &str) -> Result<Option<LinkState>>;
    /// Spends one passcode attempt, atomically: the attempts left after it,
    /// or `None` if none were left.
    fn spend_attempt(&self, id: &str) -> Result<Option<i64>>;
    /// The files of a link, in order.
    fn files(&self, id: &str) -> Result<Vec<StoredFile>>;
    /// One file of a link.
    fn file_at(&self, id: &str, position: i64) -> Result<Option<String>>;
    /// Appends to the access trail of a link (nothing if there is no such link).
    fn record_access(&self, id: &str, recipient: &str, at: i64, outcome: Outcome) -> Result<()>;
    /// The access trail of `account`'s link, oldest first; `None` if it is not theirs.
    fn accesses(&self, id: &str, account: i64) -> Result<Option<Vec<Access>>>;
    /// `account`'s links, newest first.
    fn list_links(&self, account: i64) -> Result<Vec<LinkSummary>>;
    /// The account whose token has this SHA-256.
    fn account_by_token(&self, token_sha256: &[u8]) -> Result<Option<i64>>;
    /// Creates the account `name`, or gives it this new token: its id.
    fn upsert_account(&self, name: &str, token_sha256: &[u8], now: i64) -> Result<i64>;
    /// The issuer signing key: the first stored, else `candidate` stored under `kid`.
    fn issuer_secret(&self, candidate: &[u8; 32], kid: &str, now: i64) -> Result<Zeroizing<[u8; 32]>>;
}

/// The SHA-256 of a bearer token, as stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A recipient as stored: at most [`MAX_RECIPIENT`] characters.
pub fn recipient_text(recipient: &str) -> String {
    recipient.chars().take(MAX_RECIPIENT).collect()
}

/// One file of an active link.
pub fn active_file(store: &dyn Store, id: &str, position: i64, now: i64) -> Result<Option<String>> {
    if !store.link(id)?.is_some_and(|link| link.is_active(now)) {
        return Ok(None);
    }
    store.file_at(id, position)
}

/// A manifest request: checks that the link is active and has a manifest,
/// checks the passcode of a `P` link (spending an attempt when it is wrong),
/// records the request in the access trail and returns the files.
pub fn manifest(store: &dyn Store, id: &str, passcode: Option<&str>, recipient: &str, now: i64) -> Result<Manifest> {
    let Some(link) = store.link(id)? else {
        return Ok(Manifest::NotFound);
    };
    if link.has_flag('U') {
        return Ok(Manifest::NotFound);
    }
    if let Some(outcome) = link.inactive(now) {
        store.record_access(id, recipient, now, outcome)?;
        return Ok(Manifest::NotFound);
    }
    if link.has_flag('P') {
        let Some(passcode) = passcode else {
            store.record_access(id, recipient, now, Outcome::NoPasscode)?;
            return Ok(Manifest::PasscodeRequired { remaining: link.attempts_left });
        };
        let salt = link.passcode_salt.as_deref().unwrap_or_default();
        let expected = link.passcode_hash.as_deref().unwrap_or_default();
        let actual = hash_passcode(passcode, salt);
        if expected.is_empty() || !constant_time_eq(actual.as_slice(), expected) {
            return Ok(match store.spend_attempt(id)? {
                Some(remaining) => {
                    store.record_access(id, recipient, now, Outcome::WrongPasscode)?;
                    Manifest::WrongPasscode { remaining }
                }
                None => {
                    store.record_access(id, recipient, now, Outcome::Locked)?;
                    Manifest::NotFound
                }
            });
        }
    }
    let files = store.files(id)?;
    store.record_access(id, recipient, now, Outcome::Served)?;
    Ok(Manifest::Files(files))
}

/// The SQLite store.
pub struct Sqlite {
    connection: Mutex<Connection>,
    path: PathBuf,
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path`, and its directory.
    pub fn open(path: &Path) -> std::result::Result<Self, String> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let fail = |e: rusqlite::Error| format!("database {}: {e}", path.display());
        let connection = Connection::open(path).map_err(fail)?;
        connection.busy_timeout(Duration::from_secs(10)).map_err(fail)?;
        let mode: String = connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            eprintln!("warning: the database is in {mode} mode, not WAL");
        }
        connection.pragma_update(None, "foreign_keys", "ON").map_err(fail)?;
        connection.pragma_update(None, "synchronous", "NORMAL").map_err(fail)?;
        connection.execute_batch(SCHEMA).map_err(fail)?;
        // Databases of version 1 have no owner column.
        let has_account: bool =
            connection.query_row("SELECT COUNT(*) FROM pragma_table_info('links') WHERE name = 'account_id'", [], |row| row.get::<_, i64>(0)).map_err(fail)?
                > 0;
        if !has_account {
            connection.execute_batch("ALTER TABLE links ADD COLUMN account_id INTEGER REFERENCES accounts(id)").map_err(fail)?;
        }
        connection.execute_batch(INDEXES).map_err(fail)?;
        Ok(Self { connection: Mutex::new(connection), path: path.to_owned() })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions
        // roll back on drop), so a poisoned mutex is still usable.
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for Sqlite {
    fn describe(&self) -> String {
        format!("SQLite {}", self.path.display())
    }

    fn insert_link(&self, link: &NewLink<'_>) -> Result<()> {
        let (salt, hash) = link.passcode_hash();
        let mut connection = self.lock();
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO links (id, passcode_salt, passcode_hash, attempts_left, exp, revoked, flags, label, created, demo, account_id)
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10)",
            params![link.id, salt, hash, link.attempts, link.exp, link.flags, link.label, link.created, link.demo, link.account],
        )?;
        for (position, file) in link.files.iter().enumerate() {
            tx.execute(
                "INSERT INTO files (link_id, position, content_type, jwe, last_updated) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![link.id, position as i64, file.content_type, file.jwe, link.created],
            )?;
        }
        Ok(tx.commit()?)
    }

    fn add_file(&self, id: &str, account: i64, file: &NewFile, now: i64) -> Result<Option<i64>> {
        let mut connection = self.lock();
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let owned = tx.query_row("SELECT 1 FROM links WHERE id = ?1 AND account_id = ?2 AND revoked = 0", params![id, account], |_| Ok(())).optional()?;
        if owned.is_none() {
            return Ok(None);
        }
        let position: i64 = tx.query_row("SELECT COALESCE(MAX(position) + 1, 0) FROM files WHERE link_id = ?1", [id], |row| row.get(0))?;
        tx.execute(
            "INSERT INTO files (link_id, position, content_type, jwe, last_updated) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, position, file.content_type, file.jwe, now],
        )?;
        tx.commit()?;
        Ok(Some(position + 1))
    }

    fn revoke(&self, id: &str, account: Option<i64>) -> Result<bool> {
        let mut connection = self.lock();
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute("UPDATE links SET revoked = 1 WHERE id = ?1 AND (?2 IS NULL OR account_id = ?2)", params![id, account])?;
        if changed > 0 {
            tx.execute("DELETE FROM files WHERE link_id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(changed > 0)
    }

    fn delete_demo_links(&self) -> Result<usize> {
        Ok(self.lock().execute("DELETE FROM links WHERE demo = 1", [])?)
    }

    fn link(&self, id: &str) -> Result<Option<LinkState>> {
        Ok(self
            .lock()
            .query_row("SELECT flags, revoked, exp, attempts_left, passcode_salt, passcode_hash FROM links WHERE id = ?1", [id], |row| {
                Ok(LinkState {
                    flags: row.get(0)?,
                    revoked: row.get(1)?,
                    exp: row.get(2)?,
                    attempts_left: row.get(3)?,
                    passcode_salt: row.get(4)?,
                    passcode_hash: row.get(5)?,
                })
            })
            .optional()?)
    }

    fn spend_attempt(&self, id: &str) -> Result<Option<i64>> {
        Ok(self
            .lock()
            .query_row("UPDATE links SET attempts_left = attempts_left - 1 WHERE id = ?1 AND attempts_left > 0 RETURNING attempts_left", [id], |row| row.get(0))
            .optional()?)
    }

    fn files(&self, id: &str) -> Result<Vec<StoredFile>> {
        let connection = self.lock();
        let mut statement = connection.prepare("SELECT position, content_type, jwe, last_updated FROM files WHERE link_id = ?1 ORDER BY position")?;
        let rows = statement
            .query_map([id], |row| Ok(StoredFile { position: row.get(0)?, content_type: row.get(1)?, jwe: row.get(2)?, last_updated: row.get(3)? }))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn file_at(&self, id: &str, position: i64) -> Result<Option<String>> {
        Ok(self.lock().query_row("SELECT jwe FROM files WHERE link_id = ?1 AND position = ?2", params![id, position], |row| row.get(0)).optional()?)
    }

    fn record_access(&self, id: &str, recipient: &str, at: i64, outcome: Outcome) -> Result<()> {
        self.lock().execute(
            "INSERT INTO accesses (link_id, recipient, at, outcome)
             SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM links WHERE id = ?1)",
            params![id, recipient_text(recipient), at, outcome.as_str()],
        )?;
        Ok(())
    }

    fn accesses(&self, id: &str, account: i64) -> Result<Option<Vec<Access>>> {
        let connection = self.lock();
        let owned = connection.query_row("SELECT 1 FROM links WHERE id = ?1 AND account_id = ?2", params![id, account], |_| Ok(())).optional()?;
        if owned.is_none() {
            return Ok(None);
        }
        let mut statement = connection.prepare("SELECT recipient, at, outcome FROM accesses WHERE link_id = ?1 ORDER BY id")?;
        let rows = statement.query_map([id], |row| Ok(Access { recipient: row.get(0)?, at: row.get(1)?, outcome: row.get(2)? }))?;
        Ok(Some(rows.collect::<rusqlite::Result<Vec<_>>>()?))
    }

    fn list_links(&self, account: i64) -> Result<Vec<LinkSummary>> {
        let connection = self.lock();
        let mut statement = connection.prepare(
            "SELECT l.id, l.label, l.flags, l.exp, l.created, l.revoked, l.attempts_left,
                    (SELECT COUNT(*) FROM files f WHERE f.link_id = l.id),
                    (SELECT COUNT(*) FROM accesses a WHERE a.link_id = l.id)
             FROM links l WHERE l.account_id = ?1 ORDER BY l.created DESC, l.rowid DESC",
        )?;
        let rows = statement.query_map([account], |row| {
            Ok(LinkSummary {
                id: row.get(0)?,
                label: row.get(1)?,
                flags: row.get(2)?,
                exp: row.get(3)?,
                created: row.get(4)?,
                revoked: row.get(5)?,
                attempts_left: row.get(6)?,
                files: row.get(7)?,
                accesses: row.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn account_by_token(&self, token_sha256: &[u8]) -> Result<Option<i64>> {
        Ok(self.lock().query_row("SELECT id FROM accounts WHERE token_sha256 = ?1", [token_sha256], |row| row.get(0)).optional()?)
    }

    fn upsert_account(&self, name: &str, token_sha256: &[u8], now: i64) -> Result<i64> {
        Ok(self.lock().query_row(
            "INSERT INTO accounts (name, token_sha256, created) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET token_sha256 = excluded.token_sha256 RETURNING id",
            params![name, token_sha256, now],
            |row| row.get(0),
        )?)
    }

    fn issuer_secret(&self, candidate: &[u8; 32], kid: &str, now: i64) -> Result<Zeroizing<[u8; 32]>> {
        let mut connection = self.lock();
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<Vec<u8>> = tx.query_row("SELECT secret FROM issuer_keys ORDER BY created, kid LIMIT 1", [], |row| row.get(0)).optional()?;
        if let Some(bytes) = existing.map(Zeroizing::new) {
            if let Ok(secret) = <[u8; 32]>::try_from(bytes.as_slice()) {
                return Ok(Zeroizing::new(secret));
            }
        }
        tx.execute("INSERT INTO issuer_keys (kid, secret, created) VALUES (?1, ?2, ?3)", params![kid, candidate.as_slice(), now])?;
        tx.commit()?;
        Ok(Zeroizing::new(*candidate))
    }
}

pub fn hash_passcode(passcode: &str, salt: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    pbkdf2_hmac::<Sha256>(passcode.as_bytes(), salt, PBKDF2_ROUNDS, out.as_mut_slice());
    out
}

/// Compares without an early exit, so timing does not reveal how many leading
/// bytes matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dev-server-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("links.sqlite3")
    }

    #[test]
    fn passcode_attempts_and_access_trail() {
        let store = Sqlite::open(&temp_db("attempts")).expect("open");
        let account = store.upsert_account("a", &token_hash("t"), 1).expect("account");
        assert_eq!(store.account_by_token(&token_hash("t")).expect("lookup"), Some(account));
        assert_eq!(store.upsert_account("a", &token_hash("u"), 2).expect("rotate"), account);
        assert_eq!(store.account_by_token(&token_hash("t")).expect("lookup"), None);
        let link = NewLink {
            id: "l1",
            passcode: Some("right"),
            attempts: 2,
            exp: None,
            flags: "P",
            label: None,
            demo: false,
            created: 1,
            account: Some(account),
            files: vec![],
        };
        store.insert_link(&link).expect("insert");
        let file = NewFile { content_type: "application/fhir+json".into(), jwe: "a.b.c.d.e".into() };
        assert_eq!(store.add_file("l1", account, &file, 1).expect("add"), Some(1));
        assert_eq!(store.add_file("l1", account + 1, &file, 1).expect("add"), None);
        let outcome = |passcode| match manifest(&store, "l1", passcode, "Dr A", 5).expect("manifest") {
            Manifest::NotFound => "404".to_owned(),
            Manifest::PasscodeRequired { remaining } => format!("required {remaining}"),
            Manifest::WrongPasscode { remaining } => format!("wrong {remaining}"),
            Manifest::Files(files) => format!("files {}", files.len()),
        };
        assert_eq!(outcome(None), "required 2");
        assert_eq!(outcome(Some("nope")), "wrong 1");
        assert_eq!(outcome(Some("right")), "files 1");
        assert_eq!(outcome(Some("nope")), "wrong 0");
        assert_eq!(outcome(Some("right")), "404");
        let trail: Vec<String> = store.accesses("l1", account).expect("trail").expect("owned").into_iter().map(|a| a.outcome).collect();
        assert_eq!(trail, ["noPasscode", "wrongPasscode", "served", "wrongPasscode", "locked"]);
        assert!(store.accesses("l1", account + 1).expect("trail").is_none());
        let listed = store.list_links(account).expect("list");
        assert_eq!((listed.len(), listed[0].files, listed[0].accesses, listed[0].attempts_left), (1, 1, 5, 0));
        assert!(!store.revoke("l1", Some(account + 1)).expect("revoke"));
        assert!(store.revoke("l1", Some(account)).expect("revoke"));
        assert!(store.files("l1").expect("files").is_empty());
    }
}

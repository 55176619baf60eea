//! Command line: the server options, the `create-link` and `revoke`
//! subcommands, and the `--help` text.

use std::path::PathBuf;

/// The whole `--help` text.
pub const USAGE: &str = "\
Patient Portal SDK development backend (loopback only): serves the demo page,
the built SDK, hosts SMART Health Links stored in SQLite or PostgreSQL with an
authenticated link API under /api/, and serves the sample patients as a
read-only FHIR R4 API.

Usage:
  cargo run --example dev_server -- [SERVE OPTIONS]
  cargo run --example dev_server -- create-link [LINK OPTIONS] FILE...
  cargo run --example dev_server -- revoke [--db PATH | --postgres URL] ID
  cargo run --example dev_server -- create-account [--db PATH | --postgres URL] NAME
  cargo run --example dev_server -- --help

Serve options:
  --port N              port on 127.0.0.1 (default 8080; 0 picks a free port)
  --root DIR            repository root holding www/ and pkg/ (default: this crate)
  --json                also print one line `DEMO_LINKS {json}` with the demo links,
                        the FHIR base, token and sample patients, and the link
                        API: \"host\": {\"api\", \"token\", \"viewerUrl\"}
  --db PATH             SQLite database of links
                        (default: <crate>/target/dev-backend/links.sqlite3)
  --public-url URL      base URL written into the links the server creates, the
                        manifest file locations and the card issuer `iss`
                        (default http://127.0.0.1:<port>)
  --postgres URL        store links in PostgreSQL instead of SQLite
                        (postgres://user[:password]@host:port/db); several
                        servers on one database share passcode attempt counts
  --manifest-rate N     requests per second per link before answering 429
                        (default 10)
  --api-rate N          /api/ requests per minute per account before answering
                        429 (default 120)
  --attempts N          wrong passcodes allowed over the life of a link created
                        through /api/ (default 5)
  --max-upload BYTES    largest file upload to /api/ (default 33554432, 32 MiB)
  --max-connections N   connections served at once; more wait (default 256)
  --header-timeout S    seconds a client has to send a request's headers
                        (default 10)
  --body-timeout S      seconds a client has to send a request's body (default 30)
At each start the server deletes the previous start's demo links and creates
fresh ones (kinds plain, passcode [1234, 3 attempts], direct, multi, expired,
revoked, tampered), printed with their keys. Other links are kept. It also
draws a fresh bearer token for the FHIR API and prints it with the FHIR base
and a demo page URL per sample patient (?fhir=<base>&patient=<id>), and gives
the `demo` account (created if absent) a fresh /api/ token, printed too.

create-account makes an account of the link API (or gives an existing one a
new token) and prints one line {\"account\": NAME, \"token\": TOKEN}. The
token is stored only as its SHA-256.

create-link stores a new link (a running server sees it at once) and prints
the shlink:/ URI, the viewer URL and its QR code. The key is printed, never
stored: keep the output.
  --db PATH, --postgres URL
                        database, as above
  --base URL            public base URL of the server (default http://127.0.0.1:8080)
  --viewer URL          viewer page that opens the link (default <base>/)
  --passcode TEXT       require this passcode (flag P)
  --attempts N          wrong passcodes allowed over the link's life (default 5;
                        with --passcode only)
  --expires-in SECONDS  expire this many seconds from now
  --exp EPOCH           expire at this time (epoch seconds)
  --label TEXT          short description, at most 80 characters
  --long-term           flag L: the content may change over time
  --direct              flag U: the single file is fetched with GET, no manifest
                        (exactly one FILE; not with --passcode)
  --health-card         wrap each FHIR Bundle as a SMART Health Card signed with
                        the backend's issuer key (iss = --base)
  --qr-svg PATH         also write the QR code as an SVG file
  --json                print one line {\"id\",\"link\",\"viewerUrl\",\"manifestUrl\"}
                        instead of the text and QR code
  FILE...               FHIR JSON resources or Bundles (application/fhir+json),
                        or .smart-health-card files (application/smart-health-card)

revoke marks a link revoked; later requests for it answer 404.

Link API (JSON; Authorization: Bearer <account token>; any origin):
  POST   /api/links               {label?, passcode?, expiresAt? (epoch s), flag?}
                                  -> 201 {id, url, viewerUrl, label, flag,
                                  expiresAt, createdAt}
  POST   /api/links/<id>/files?contentType=application/fhir+json
                                  body: a compact JWE -> 201 {files}
  GET    /api/links               -> {links: [{id, url, label, flag, expiresAt,
                                  createdAt, revoked, files, attemptsLeft,
                                  accesses}]} (newest first)
  DELETE /api/links/<id>          -> 204, revoked
  GET    /api/links/<id>/accesses -> {accesses: [{recipient, at, outcome}]}
  Errors {error, message}: 401 bad token, 404 unknown or another account's
  link, 413 too large, 429 past --api-rate (Retry-After), 400 bad input.
  Every manifest request and direct file request is recorded with its outcome
  (served, wrongPasscode, noPasscode, expired, revoked, locked, rateLimited).

Routes:
  GET  /                          demo page (www/), CSP-protected
  GET  /pkg/<file>                the built SDK (make pkg)
  GET  /records/<id>.jwe          demo records sealed at start (application/jose)
  POST /shl/<id>                  manifest request {recipient, passcode?, embeddedLengthMax?}
  GET  /shl/<id>?recipient=...    direct file request (links with flag U)
  GET  /shl/files/<token>         one-time file location (valid 60 s)
  GET  /.well-known/jwks.json     issuer public key of the cards the backend signs
  GET  /fhir/metadata             CapabilityStatement (no token needed)
  GET  /fhir/<Type>/<id>          read (any type of the samples)
  GET  /fhir/Patient/<id>/$everything?_count=N&_type=...
                                  every resource of the patient's sample bundle
  GET  /fhir/<Type>?patient=<id>  search: patient (or Patient/<id>), subject,
                                  _id, category (system|code; Observation,
                                  Condition, CarePlan, DiagnosticReport),
                                  _include=MedicationRequest:medication,
                                  _count (default 50, max 500), _offset
  /fhir/ routes but metadata need Authorization: Bearer <token> (401 otherwise);
  they answer application/fhir+json, searchset Bundles with total and absolute
  self/next links, OperationOutcomes for 400 (bad or unknown parameters; send
  Prefer: handling=lenient to ignore unknown ones), 401, 404 and 405.
  OPTIONS on /shl/..., /fhir/... and the JWKS answers CORS preflights; those
  routes send Access-Control-Allow-Origin: *. Request bodies are limited to
  64 KiB (uploads: --max-upload).

Development use only.";

/// Default public base of links made with `create-link`.
pub const DEFAULT_BASE: &str = "http://127.0.0.1:8080";
/// Longest manifest URL the specification allows.
const MAX_MANIFEST_URL: usize = 128;
/// Length of `/shl/` plus a 43-character id.
const MANIFEST_PATH_LEN: usize = 5 + 43;

/// What the command line asks for.
pub enum Command {
    Serve(ServeOptions),
    CreateLink(CreateOptions),
    Revoke { store: StoreChoice, id: String },
    CreateAccount { store: StoreChoice, name: String },
}

/// Where links are stored: SQLite at `db`, or PostgreSQL at `postgres`.
#[derive(Clone)]
pub struct StoreChoice {
    pub db: PathBuf,
    pub postgres: Option<String>,
}

impl StoreChoice {
    fn new() -> Self {
        Self { db: default_db(), postgres: None }
    }

    /// Handles `--db` and `--postgres`; false for other arguments.
    fn parse(&mut self, arg: &str, args: &mut impl Iterator<Item = String>) -> Result<bool, String> {
        match arg {
            "--db" => self.db = PathBuf::from(value(args, "--db")?),
            "--postgres" => {
                let url = value(args, "--postgres")?;
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err("--postgres: expected a postgres:// URL".into());
                }
                self.postgres = Some(url);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Options of the server.
pub struct ServeOptions {
    pub port: u16,
    pub root: PathBuf,
    pub json: bool,
    pub store: StoreChoice,
    pub public_url: Option<String>,
    pub manifest_rate: u32,
    pub api_rate: u32,
    pub attempts: u32,
    pub max_upload: usize,
    pub max_connections: usize,
    pub header_timeout: u64,
    pub body_timeout: u64,
}

/// Options of `create-link`.
pub struct CreateOptions {
    pub store: StoreChoice,
    pub base: String,
    pub viewer: String,
    pub passcode: Option<zeroize::Zeroizing<String>>,
    pub attempts: u32,
    pub expiry: Option<Expiry>,
    pub label: Option<String>,
    pub long_term: bool,
    pub direct: bool,
    pub health_card: bool,
    pub qr_svg: Option<PathBuf>,
    pub json: bool,
    pub files: Vec<PathBuf>,
}

/// When a new link expires.
#[derive(Clone, Copy)]
pub enum Expiry {
    In(u64),
    At(i64),
}

/// The database used when `--db` is not given.
pub fn default_db() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/dev-backend/links.sqlite3")
}

/// Parses the process arguments. `Ok(None)` means `--help` was printed.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Command>, String> {
    let mut args = args.into_iter().peekable();
    match args.peek().map(String::as_str) {
        Some("create-link") => {
            args.next();
            parse_create(args).map(|o| o.map(Command::CreateLink))
        }
        Some("revoke") => {
            args.next();
            parse_revoke(args)
        }
        Some("create-account") => {
            args.next();
            parse_create_account(args)
        }
        _ => parse_serve(args).map(|o| o.map(Command::Serve)),
    }
}

fn value(args: &mut impl Iterator<Item = String>, flag: &str) -> Result<String, String> {
    args.next().ok_or_else(|| format!("{flag} needs a value"))
}

fn number<T: std::str::FromStr>(args: &mut impl Iterator<Item = String>, flag: &str) -> Result<T, String> {
    let text = value(args, flag)?;
    text.parse().map_err(|_| format!("{flag}: not a valid number: {text}"))
}

/// A number of at least 1.
fn positive<T: std::str::FromStr + PartialOrd + From<u8>>(args: &mut impl Iterator<Item = String>, flag: &str) -> Result<T, String> {
    let n: T = number(args, flag)?;
    if n < T::from(1) {
        return Err(format!("{flag} must be at least 1"));
    }
    Ok(n)
}

fn parse_serve(mut args: impl Iterator<Item = String>) -> Result<Option<ServeOptions>, String> {
    let mut options = ServeOptions {
        port: 8080,
        root: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        json: false,
        store: StoreChoice::new(),
        public_url: None,
        manifest_rate: 10,
        api_rate: 120,
        attempts: 5,
        max_upload: 32 * 1024 * 1024,
        max_connections: 256,
        header_timeout: 10,
        body_timeout: 30,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--json" => options.json = true,
            "--port" => options.port = number(&mut args, "--port")?,
            "--root" => options.root = PathBuf::from(value(&mut args, "--root")?),
            "--db" | "--postgres" => {
                options.store.parse(&arg, &mut args)?;
            }
            "--api-rate" => options.api_rate = positive(&mut args, "--api-rate")?,
            "--attempts" => options.attempts = positive(&mut args, "--attempts")?,
            "--max-upload" => options.max_upload = positive(&mut args, "--max-upload")?,
            "--max-connections" => options.max_connections = positive(&mut args, "--max-connections")?,
            "--header-timeout" => options.header_timeout = positive(&mut args, "--header-timeout")?,
            "--body-timeout" => options.body_timeout = positive(&mut args, "--body-timeout")?,
            "--public-url" => options.public_url = Some(base_url(&value(&mut args, "--public-url")?, "--public-url")?),
            "--manifest-rate" => {
                options.manifest_rate = number(&mut args, "--manifest-rate")?;
                if options.manifest_rate == 0 {
                    return Err("--manifest-rate must be at least 1".into());
                }
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Some(options))
}

fn parse_create(mut args: impl Iterator<Item = String>) -> Result<Option<CreateOptions>, String> {
    let mut store = StoreChoice::new();
    let mut base = DEFAULT_BASE.to_owned();
    let mut viewer = None;
    let mut passcode: Option<zeroize::Zeroizing<String>> = None;
    let mut attempts = None;
    let mut expiry = None;
    let mut label = None;
    let (mut long_term, mut direct, mut health_card, mut json) = (false, false, false, false);
    let mut qr_svg = None;
    let mut files = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--db" | "--postgres" => {
                store.parse(&arg, &mut args)?;
            }
            "--base" => base = base_url(&value(&mut args, "--base")?, "--base")?,
            "--viewer" => viewer = Some(http_url(value(&mut args, "--viewer")?, "--viewer")?),
            "--passcode" => {
                let text = zeroize::Zeroizing::new(value(&mut args, "--passcode")?);
                if text.is_empty() {
                    return Err("--passcode must not be empty".into());
                }
                passcode = Some(text);
            }
            "--attempts" => {
                let n: u32 = number(&mut args, "--attempts")?;
                if n == 0 {
                    return Err("--attempts must be at least 1".into());
                }
                attempts = Some(n);
            }
            "--expires-in" | "--exp" if expiry.is_some() => return Err("give one of --expires-in and --exp".into()),
            "--expires-in" => expiry = Some(Expiry::In(number(&mut args, "--expires-in")?)),
            "--exp" => expiry = Some(Expiry::At(number(&mut args, "--exp")?)),
            "--label" => {
                let text = value(&mut args, "--label")?;
                if text.chars().count() > 80 {
                    return Err("--label is longer than 80 characters".into());
                }
                label = Some(text);
            }
            "--long-term" => long_term = true,
            "--direct" => direct = true,
            "--health-card" => health_card = true,
            "--json" => json = true,
            "--qr-svg" => qr_svg = Some(PathBuf::from(value(&mut args, "--qr-svg")?)),
            "--" => files.extend(args.by_ref().map(PathBuf::from)),
            other if other.starts_with("--") => return Err(format!("unknown argument: {other}")),
            file => files.push(PathBuf::from(file)),
        }
    }
    if files.is_empty() {
        return Err("create-link needs at least one FILE".into());
    }
    if direct && passcode.is_some() {
        return Err("--direct (flag U) cannot be combined with --passcode (flag P)".into());
    }
    if direct && files.len() != 1 {
        return Err("--direct (flag U) needs exactly one FILE".into());
    }
    if attempts.is_some() && passcode.is_none() {
        return Err("--attempts only applies with --passcode".into());
    }
    let viewer = viewer.unwrap_or_else(|| format!("{base}/"));
    Ok(Some(CreateOptions {
        store,
        base,
        viewer,
        passcode,
        attempts: attempts.unwrap_or(5),
        expiry,
        label,
        long_term,
        direct,
        health_card,
        qr_svg,
        json,
        files,
    }))
}

/// `--db`/`--postgres` and one positional argument (`what`), for the
/// subcommands that take a store and a name or an id.
fn store_and_one(mut args: impl Iterator<Item = String>, command: &str, what: &str) -> Result<Option<(StoreChoice, String)>, String> {
    let mut store = StoreChoice::new();
    let mut value = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--db" | "--postgres" => {
                store.parse(&arg, &mut args)?;
            }
            other if other.starts_with("--") => return Err(format!("unknown argument: {other}")),
            other if value.is_none() => value = Some(other.to_owned()),
            _ => return Err(format!("{command} takes one {what}")),
        }
    }
    let value = value.ok_or_else(|| format!("{command} needs the {what}"))?;
    Ok(Some((store, value)))
}

fn parse_create_account(args: impl Iterator<Item = String>) -> Result<Option<Command>, String> {
    let Some((store, name)) = store_and_one(args, "create-account", "NAME")? else {
        return Ok(None);
    };
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err("the account NAME must be 1 to 64 characters, no control characters".into());
    }
    Ok(Some(Command::CreateAccount { store, name }))
}

fn parse_revoke(args: impl Iterator<Item = String>) -> Result<Option<Command>, String> {
    let Some((store, id)) = store_and_one(args, "revoke", "link ID")? else {
        return Ok(None);
    };
    Ok(Some(Command::Revoke { store, id }))
}

/// An absolute `http(s)` URL without whitespace, as given.
fn http_url(text: String, flag: &str) -> Result<String, String> {
    let scheme_ok = text.starts_with("http://") || text.starts_with("https://");
    if !scheme_ok || text.len() <= "https://".len() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{flag}: expected an http:// or https:// URL, got {text:?}"));
    }
    Ok(text)
}

/// A public base URL: `http(s)`, no query or fragment, trailing `/` removed,
/// short enough that `<base>/shl/<id>` stays within 128 characters.
pub fn base_url(text: &str, flag: &str) -> Result<String, String> {
    let text = http_url(text.to_owned(), flag)?;
    if text.contains(['?', '#']) {
        return Err(format!("{flag}: the base URL cannot have a query or fragment"));
    }
    let base = text.trim_end_matches('/').to_owned();
    if base.len() + MANIFEST_PATH_LEN > MAX_MANIFEST_URL {
        return Err(format!(
            "{flag}: too long: manifest URLs would exceed {MAX_MANIFEST_URL} characters (keep the base within {})",
            MAX_MANIFEST_URL - MANIFEST_PATH_LEN
        ));
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn create_link_rules() {
        assert!(parse(args(&["create-link"])).is_err());
        assert!(parse(args(&["create-link", "--direct", "--passcode", "x", "a.json"])).is_err());
        assert!(parse(args(&["create-link", "--direct", "a.json", "b.json"])).is_err());
        assert!(parse(args(&["create-link", "--label", &"x".repeat(81), "a.json"])).is_err());
        assert!(parse(args(&["create-link", "--exp", "1", "--expires-in", "2", "a.json"])).is_err());
        let Ok(Some(Command::CreateLink(o))) = parse(args(&["create-link", "--base", "https://h.example/", "a.json"])) else {
            panic!("valid arguments");
        };
        assert_eq!(o.base, "https://h.example");
        assert_eq!(o.viewer, "https://h.example/");
        assert_eq!(o.attempts, 5);
    }
}

//! Named API keys: the keys file an operator edits with `zebench keys`, and the in-memory
//! ring the server checks requests against.
//!
//! Only SHA-256 digests of keys are stored or kept in memory. Keys made by `zebench keys add`
//! carry 256 random bits, so a fast hash is enough: there is nothing to brute-force that a
//! slow password hash would protect (operators who bring their own key must make it long).
//! The keys file is re-read when it changes, so adding or revoking a key needs no restart.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

/// What a key may do. Write keys may also read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Write,
    Read,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Write => "write",
            Scope::Read => "read",
        })
    }
}

/// One `[[key]]` of the keys file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// Recorded with every run the key submits (`submittedBy`), and shown in logs.
    pub name: String,
    pub scope: Scope,
    /// Lower-case hex SHA-256 of the key.
    pub sha256: String,
    /// When the key was made (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// A revoked key is refused with 403 but stays listed, so its name still explains the
    /// runs it submitted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
}

/// The keys file: `[[key]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysFile {
    #[serde(default)]
    pub key: Vec<KeyEntry>,
}

/// A keys file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("cannot read keys file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write keys file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("keys file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("there is already a key named {0:?}")]
    DuplicateName(String),
    #[error("no key named {0:?}")]
    UnknownName(String),
    #[error("invalid key name {0:?}: use 1–64 letters, digits, '.', '_' or '-'")]
    BadName(String),
}

/// Lower-case hex SHA-256 of a key, as stored in the keys file.
pub fn hash_key(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `name` can name a key: 1–64 ASCII letters, digits, `.`, `_` or `-`. Also what an
/// import accepts as a run's `submittedBy`.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl KeysFile {
    /// Reads `path`; a missing file is an empty keys file (so `zebench keys add` can create it).
    pub fn load(path: &Path) -> Result<KeysFile, KeysError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(KeysFile::default()),
            Err(source) => {
                return Err(KeysError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        KeysFile::parse(&text).map_err(|message| KeysError::Invalid {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses and checks the text of a keys file (names unique and well-formed, digests hex).
    pub fn parse(text: &str) -> Result<KeysFile, String> {
        let file: KeysFile = crate::config_file::parse_toml(text)?;
        let mut seen = std::collections::HashSet::new();
        for (i, k) in file.key.iter().enumerate() {
            if !valid_name(&k.name) {
                return Err(format!(
                    "key[{i}].name {:?}: use 1–64 letters, digits, '.', '_' or '-'",
                    k.name
                ));
            }
            if !seen.insert(k.name.as_str()) {
                return Err(format!("key[{i}].name {:?} is used twice", k.name));
            }
            if k.sha256.len() != 64 || !k.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "key[{i}].sha256 (key {:?}) must be 64 hex digits (`zebench keys hash` prints it)",
                    k.name
                ));
            }
        }
        Ok(file)
    }

    /// Writes the file atomically (temporary file, then rename), readable by its owner only.
    pub fn save(&self, path: &Path) -> Result<(), KeysError> {
        let write_err = |source| KeysError::Write {
            path: path.to_path_buf(),
            source,
        };
        let text = format!(
            "# zebench API keys: SHA-256 digests only. Managed by `zebench keys`; the server\n\
             # re-reads this file when it changes.\n\n{}",
            toml::to_string(self).map_err(|e| KeysError::Invalid {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
        );
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(write_err)?;
        let tmp = dir.join(format!(
            ".{}.tmp",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        std::fs::write(&tmp, text).map_err(write_err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
                .map_err(write_err)?;
        }
        std::fs::rename(&tmp, path).map_err(write_err)
    }

    /// Adds a key named `name` with the given secret (its digest only is kept).
    pub fn add(&mut self, name: &str, scope: Scope, secret: &str) -> Result<(), KeysError> {
        if !valid_name(name) {
            return Err(KeysError::BadName(name.to_string()));
        }
        if self.key.iter().any(|k| k.name == name) {
            return Err(KeysError::DuplicateName(name.to_string()));
        }
        self.key.push(KeyEntry {
            name: name.to_string(),
            scope,
            sha256: hash_key(secret),
            created: Some(zebench_core::Timestamp::now().to_iso()),
            revoked: false,
        });
        Ok(())
    }

    /// Marks the key named `name` revoked.
    pub fn revoke(&mut self, name: &str) -> Result<(), KeysError> {
        let entry = self
            .key
            .iter_mut()
            .find(|k| k.name == name)
            .ok_or_else(|| KeysError::UnknownName(name.to_string()))?;
        entry.revoked = true;
        Ok(())
    }
}

/// A new random key: `zb_` and 43 URL-safe characters (256 bits).
pub fn generate_key() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    format!(
        "zb_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// A key given on the command line, in the environment or by a test, rather than in the keys
/// file. Only its digest is kept; `Debug` shows the name, never the key.
#[derive(Clone)]
pub struct ApiKey {
    pub name: String,
    pub scope: Scope,
    digest: [u8; 32],
}

impl ApiKey {
    /// A write key named `default`.
    pub fn new(secret: &str) -> Self {
        ApiKey::named("default", Scope::Write, secret)
    }

    pub fn named(name: impl Into<String>, scope: Scope, secret: &str) -> Self {
        ApiKey {
            name: name.into(),
            scope,
            digest: Sha256::digest(secret.as_bytes()).into(),
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}, {}, ***)", self.name, self.scope)
    }
}

/// What a presented token turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    Valid { name: Arc<str>, scope: Scope },
    Revoked { name: Arc<str> },
    Unknown,
}

#[derive(Debug)]
struct Known {
    name: Arc<str>,
    scope: Scope,
    revoked: bool,
}

/// Every key the server accepts right now, by digest.
#[derive(Debug, Default)]
pub struct KeyRing {
    by_digest: HashMap<[u8; 32], Known>,
    read_protected: bool,
}

impl KeyRing {
    fn build(statics: &[ApiKey], file: &KeysFile) -> KeyRing {
        let mut ring = KeyRing::default();
        for k in statics {
            ring.by_digest.insert(
                k.digest,
                Known {
                    name: k.name.as_str().into(),
                    scope: k.scope,
                    revoked: false,
                },
            );
        }
        for k in &file.key {
            let mut digest = [0u8; 32];
            for (i, d) in digest.iter_mut().enumerate() {
                *d = u8::from_str_radix(&k.sha256[2 * i..2 * i + 2], 16).unwrap_or_default();
            }
            ring.by_digest.insert(
                digest,
                Known {
                    name: k.name.as_str().into(),
                    scope: k.scope,
                    revoked: k.revoked,
                },
            );
        }
        ring.read_protected = ring
            .by_digest
            .values()
            .any(|k| k.scope == Scope::Read && !k.revoked);
        ring
    }

    /// Looks a presented token up. Only its digest is compared, so the time taken does not
    /// depend on how much of a real key the token shares.
    pub fn check(&self, token: &str) -> KeyCheck {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        match self.by_digest.get(&digest) {
            Some(k) if k.revoked => KeyCheck::Revoked {
                name: k.name.clone(),
            },
            Some(k) => KeyCheck::Valid {
                name: k.name.clone(),
                scope: k.scope,
            },
            None => KeyCheck::Unknown,
        }
    }

    /// True when a read key exists: then the dashboard and read API need a key too.
    pub fn read_protected(&self) -> bool {
        self.read_protected
    }

    /// Write keys that are not revoked.
    pub fn write_key_count(&self) -> usize {
        self.by_digest
            .values()
            .filter(|k| k.scope == Scope::Write && !k.revoked)
            .count()
    }
}

/// The server's keys: static ones plus the keys file, reloaded when the file changes.
#[derive(Debug)]
pub struct Keys {
    statics: Vec<ApiKey>,
    file: Option<PathBuf>,
    /// Modification time and length of the file last loaded.
    stamp: Mutex<Option<(SystemTime, u64)>>,
    ring: RwLock<Arc<KeyRing>>,
}

impl Keys {
    /// Keys from flags/environment and, when given, a keys file (which must be readable and
    /// valid at start; later a bad edit keeps the previous keys and logs an error).
    pub fn new(statics: Vec<ApiKey>, file: Option<PathBuf>) -> Result<Keys, KeysError> {
        let keys = Keys {
            statics,
            file,
            stamp: Mutex::new(None),
            ring: RwLock::new(Arc::new(KeyRing::default())),
        };
        keys.reload()?;
        Ok(keys)
    }

    /// Only static keys (tests and simple setups).
    pub fn from_static(statics: Vec<ApiKey>) -> Keys {
        let ring = KeyRing::build(&statics, &KeysFile::default());
        Keys {
            statics,
            file: None,
            stamp: Mutex::new(None),
            ring: RwLock::new(Arc::new(ring)),
        }
    }

    /// The keys in force now.
    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    /// Re-reads the keys file and swaps the ring in.
    pub fn reload(&self) -> Result<(), KeysError> {
        let file = match &self.file {
            Some(path) => {
                // Recorded before parsing, so a broken edit is reported once, not every poll.
                *self.stamp.lock().unwrap_or_else(|p| p.into_inner()) = Keys::file_stamp(path);
                KeysFile::load(path)?
            }
            None => KeysFile::default(),
        };
        let ring = Arc::new(KeyRing::build(&self.statics, &file));
        *self.ring.write().unwrap_or_else(|p| p.into_inner()) = ring;
        Ok(())
    }

    /// Reloads when the file's modification time or size changed since the last load.
    /// Returns whether it reloaded; on an invalid file the previous keys stay in force.
    pub fn reload_if_changed(&self) -> Result<bool, KeysError> {
        let Some(path) = &self.file else {
            return Ok(false);
        };
        let now = Keys::file_stamp(path);
        if now == *self.stamp.lock().unwrap_or_else(|p| p.into_inner()) {
            return Ok(false);
        }
        self.reload().map(|()| true)
    }

    /// The keys file being watched, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_long_and_distinct() {
        let a = generate_key();
        let b = generate_key();
        assert!(a.starts_with("zb_") && a.len() == 46, "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn file_round_trips_and_only_digests_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        let mut f = KeysFile::default();
        f.add("ci", Scope::Write, "secret-one").unwrap();
        f.add("viewer", Scope::Read, "secret-two").unwrap();
        f.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("secret-one") && !text.contains("secret-two"));
        assert!(text.contains(&hash_key("secret-one")));
        assert_eq!(KeysFile::load(&path).unwrap(), f);
    }

    #[test]
    fn bad_files_name_the_entry() {
        let err = KeysFile::parse("[[key]]\nname = \"a b\"\nscope = \"write\"\nsha256 = \"00\"\n")
            .unwrap_err();
        assert!(err.contains("key[0].name"), "{err}");
        let digest = hash_key("x");
        let twice = format!(
            "[[key]]\nname = \"a\"\nscope = \"write\"\nsha256 = \"{digest}\"\n\
             [[key]]\nname = \"a\"\nscope = \"read\"\nsha256 = \"{digest}\"\n"
        );
        assert!(KeysFile::parse(&twice).unwrap_err().contains("used twice"));
        let short = "[[key]]\nname = \"a\"\nscope = \"write\"\nsha256 = \"abc\"\n";
        assert!(KeysFile::parse(short)
            .unwrap_err()
            .contains("key[0].sha256"));
        let scope = format!("[[key]]\nname = \"a\"\nscope = \"admin\"\nsha256 = \"{digest}\"\n");
        assert!(KeysFile::parse(&scope).unwrap_err().contains("admin"));
    }

    #[test]
    fn ring_knows_names_scopes_and_revocations() {
        let mut f = KeysFile::default();
        f.add("ci", Scope::Write, "w").unwrap();
        f.add("old", Scope::Write, "o").unwrap();
        f.revoke("old").unwrap();
        let ring = KeyRing::build(&[ApiKey::named("cli-1", Scope::Write, "s")], &f);
        assert_eq!(
            ring.check("w"),
            KeyCheck::Valid {
                name: "ci".into(),
                scope: Scope::Write
            }
        );
        assert_eq!(ring.check("o"), KeyCheck::Revoked { name: "old".into() });
        assert!(matches!(ring.check("s"), KeyCheck::Valid { name, .. } if &*name == "cli-1"));
        assert_eq!(ring.check("nope"), KeyCheck::Unknown);
        assert!(!ring.read_protected());
        assert_eq!(ring.write_key_count(), 2);
        f.add("viewer", Scope::Read, "r").unwrap();
        assert!(KeyRing::build(&[], &f).read_protected());
    }

    #[test]
    fn a_changed_file_is_reloaded_and_a_broken_edit_keeps_the_old_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.toml");
        let mut f = KeysFile::default();
        f.add("ci", Scope::Write, "w").unwrap();
        f.save(&path).unwrap();
        let keys = Keys::new(vec![], Some(path.clone())).unwrap();
        assert!(matches!(keys.ring().check("w"), KeyCheck::Valid { .. }));
        assert!(!keys.reload_if_changed().unwrap());

        f.revoke("ci").unwrap();
        f.add("ci2", Scope::Write, "w2").unwrap();
        f.save(&path).unwrap();
        assert!(keys.reload_if_changed().unwrap());
        assert!(matches!(keys.ring().check("w"), KeyCheck::Revoked { .. }));
        assert!(matches!(keys.ring().check("w2"), KeyCheck::Valid { .. }));

        std::fs::write(&path, "[[key]]\nname = 5\n").unwrap();
        assert!(keys.reload_if_changed().is_err());
        assert!(matches!(keys.ring().check("w2"), KeyCheck::Valid { .. }));
        assert!(
            !keys.reload_if_changed().unwrap(),
            "reported once per change"
        );
    }

    #[test]
    fn revoking_or_adding_twice_is_an_error() {
        let mut f = KeysFile::default();
        f.add("a", Scope::Write, "x").unwrap();
        assert!(matches!(
            f.add("a", Scope::Read, "y"),
            Err(KeysError::DuplicateName(_))
        ));
        assert!(matches!(f.revoke("b"), Err(KeysError::UnknownName(_))));
        assert!(matches!(
            f.add("no spaces", Scope::Read, "y"),
            Err(KeysError::BadName(_))
        ));
    }
}

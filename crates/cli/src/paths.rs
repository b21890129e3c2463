//! Default locations, following the XDG base directories.

use std::path::PathBuf;

/// `$XDG_DATA_HOME/zebench` (usually `~/.local/share/zebench`), or `./.zebench` when no home
/// directory is known.
pub fn data_dir() -> PathBuf {
    dirs::data_dir()
        .map(|d| d.join("zebench"))
        .unwrap_or_else(|| PathBuf::from(".zebench"))
}

/// The embedded database used when no `--database-url` is given.
pub fn default_database() -> PathBuf {
    data_dir().join("zebench.sqlite")
}

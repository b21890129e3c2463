//! Dependency delta: what changed in the dependency sections of every package.json.

use super::{rel_path, walk, DepChange, DepsDelta, DEP_SECTIONS};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Sections = BTreeMap<String, BTreeMap<String, String>>;

/// The dependency sections of one parsed package.json. A section that is not an object is
/// ignored; a version that is not a string is kept as its JSON text.
fn sections(json: &serde_json::Value) -> Sections {
    let mut out = Sections::new();
    for section in DEP_SECTIONS {
        if let Some(map) = json.get(section).and_then(|v| v.as_object()) {
            let deps = map
                .iter()
                .map(|(name, v)| {
                    let version = v
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string());
                    (name.clone(), version)
                })
                .collect();
            out.insert((*section).to_owned(), deps);
        }
    }
    out
}

/// Every package.json under `root` (outside ignored folders, links not followed) that parses as
/// a JSON object, and the relative paths of those that exist but do not.
fn collect(root: &Path) -> (BTreeMap<String, Sections>, BTreeSet<String>) {
    let mut parsed = BTreeMap::new();
    let mut broken = BTreeSet::new();
    if !root.is_dir() {
        return (parsed, broken);
    }
    for entry in walk(root).flatten() {
        if !entry.file_type().is_file() || entry.file_name() != "package.json" {
            continue;
        }
        let rel = rel_path(root, entry.path());
        let json = std::fs::read(entry.path())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .filter(serde_json::Value::is_object);
        match json {
            Some(json) => {
                parsed.insert(rel, sections(&json));
            }
            None => {
                tracing::warn!(path = %entry.path().display(), "package.json is not valid JSON; skipped in the dependency delta");
                broken.insert(rel);
            }
        }
    }
    (parsed, broken)
}

/// The dependency sections ([`DEP_SECTIONS`]) of every package.json in `before` and `after`, and
/// each added, removed or changed entry, sorted by file, section and name. A package moved from
/// one section to another shows as removed from one and added to the other.
///
/// A package.json that cannot be read or parsed (on either side) is left out of that side's map
/// and no changes are computed for its path, so a broken file never reads as "every dependency
/// removed"; the validation commands are what catch a broken package.json. A missing tree counts
/// as having no package.json at all.
pub fn deps_delta(before: &Path, after: &Path) -> DepsDelta {
    let (before_map, before_broken) = collect(before);
    let (after_map, after_broken) = collect(after);
    let empty = Sections::new();
    let no_deps = BTreeMap::new();
    let mut changes = Vec::new();

    let files: BTreeSet<&String> = before_map.keys().chain(after_map.keys()).collect();
    for file in files {
        if before_broken.contains(file) || after_broken.contains(file) {
            continue;
        }
        let old = before_map.get(file).unwrap_or(&empty);
        let new = after_map.get(file).unwrap_or(&empty);
        let section_names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for section in section_names {
            let old_deps = old.get(section).unwrap_or(&no_deps);
            let new_deps = new.get(section).unwrap_or(&no_deps);
            let names: BTreeSet<&String> = old_deps.keys().chain(new_deps.keys()).collect();
            for name in names {
                let (b, a) = (old_deps.get(name), new_deps.get(name));
                if b != a {
                    changes.push(DepChange {
                        file: file.clone(),
                        section: section.clone(),
                        name: name.clone(),
                        before: b.cloned(),
                        after: a.cloned(),
                    });
                }
            }
        }
    }
    DepsDelta {
        after: after_map,
        before: before_map,
        changes,
    }
}

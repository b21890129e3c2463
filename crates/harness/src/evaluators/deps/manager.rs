//! `manager_correctness`: lockfiles and install commands belong only to allowed package managers.

use super::rules::RuleResult;
use serde_json::json;
use std::path::Path;

/// Lockfile name → the manager that writes it.
pub const LOCKFILES: &[(&str, &str)] = &[
    ("pnpm-lock.yaml", "pnpm"),
    ("package-lock.json", "npm"),
    ("npm-shrinkwrap.json", "npm"),
    ("yarn.lock", "yarn"),
    ("bun.lockb", "bun"),
    ("bun.lock", "bun"),
];

/// How deep lockfiles are looked for (monorepo packages sit a few levels down).
const LOCKFILE_MAX_DEPTH: usize = 6;

/// Lockfiles in the workspace (relative, `/`-separated) with their manager; dependency, VCS
/// and build folders are skipped.
pub fn find_lockfiles(root: &Path) -> Vec<(String, &'static str)> {
    let walker = walkdir::WalkDir::new(root)
        .max_depth(LOCKFILE_MAX_DEPTH)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(e.file_type().is_dir()
                && crate::diff::IGNORED_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        });
    let mut out = Vec::new();
    for e in walker.flatten().filter(|e| e.file_type().is_file()) {
        let name = e.file_name().to_string_lossy();
        if let Some((_, mgr)) = LOCKFILES.iter().find(|(f, _)| *f == name) {
            let rel = e.path().strip_prefix(root).unwrap_or(e.path());
            let rel: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            out.push((rel.join("/"), *mgr));
        }
    }
    out
}

/// Subcommands that install, add, update or remove packages (and so touch a lockfile).
fn installs(manager: &str, sub: Option<&str>) -> bool {
    let Some(sub) = sub else {
        return manager == "yarn"; // bare `yarn` installs
    };
    let verbs: &[&str] = match manager {
        "npm" => &[
            "install",
            "i",
            "ci",
            "add",
            "update",
            "up",
            "upgrade",
            "uninstall",
            "remove",
            "rm",
            "un",
            "isntall",
        ],
        "pnpm" => &[
            "install",
            "i",
            "add",
            "update",
            "up",
            "upgrade",
            "remove",
            "rm",
            "uninstall",
            "un",
        ],
        "yarn" => &[
            "install",
            "add",
            "upgrade",
            "up",
            "remove",
            "upgrade-interactive",
        ],
        "bun" => &["install", "i", "add", "a", "update", "remove", "rm"],
        _ => &[],
    };
    verbs.contains(&sub)
}

/// Flags of the managers that take a value (`pnpm -F @acme/app add x`).
const FLAGS_WITH_VALUE: &[&str] = &[
    "-F",
    "--filter",
    "-C",
    "--dir",
    "--cwd",
    "--prefix",
    "-w",
    "--workspace",
];

/// The managers a shell command line uses to install packages (`npm install`, bare `yarn`,
/// `pnpm add`, `bun i`, also after `&&`, `;`, `|` and `npx`/`corepack`).
pub fn install_managers(command: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for segment in command.split(['&', '|', ';', '\n', '(', ')', '`']) {
        let tokens: Vec<&str> = segment.split_whitespace().collect();
        for (i, tok) in tokens.iter().enumerate() {
            let name = tok.rsplit('/').next().unwrap_or(tok);
            let Some(manager) = ["npm", "pnpm", "yarn", "bun"]
                .into_iter()
                .find(|m| *m == name)
            else {
                continue;
            };
            let mut j = i + 1;
            let mut sub = None;
            while let Some(t) = tokens.get(j) {
                if !t.starts_with('-') {
                    sub = Some(*t);
                    break;
                }
                // npm's `-w` is a flag with a value, pnpm's `-w` is not; both skip safely.
                let takes_value =
                    FLAGS_WITH_VALUE.contains(t) && !(manager == "pnpm" && *t == "-w");
                j += if takes_value { 2 } else { 1 };
            }
            if installs(manager, sub) {
                out.push(manager);
            }
        }
    }
    out
}

/// Lockfiles must belong to allowed managers; install commands the agent ran must use one.
pub fn manager_correctness(
    allowed: &[String],
    lockfiles: &[(String, &'static str)],
    commands: &[String],
) -> RuleResult {
    let allowed: Vec<String> = allowed.iter().map(|m| m.trim().to_lowercase()).collect();
    let ok = |m: &str| allowed.iter().any(|a| a == m);
    let mut rows = Vec::new();
    let bad_locks: Vec<&str> = lockfiles
        .iter()
        .filter(|(_, m)| !ok(m))
        .map(|(f, _)| f.as_str())
        .collect();
    let mut passed_n = usize::from(bad_locks.is_empty());
    let mut total = 1usize;
    rows.push(json!({
        "rule": "lockfiles", "allowed": allowed, "passed": bad_locks.is_empty(),
        "lockfiles": lockfiles.iter().map(|(f, m)| json!({"file": f, "manager": m})).collect::<Vec<_>>(),
        "disallowed": bad_locks,
    }));
    let used: Vec<(&str, &'static str)> = commands
        .iter()
        .flat_map(|c| {
            install_managers(c)
                .into_iter()
                .map(move |m| (c.as_str(), m))
        })
        .collect();
    if !used.is_empty() {
        let bad: Vec<&str> = used
            .iter()
            .filter(|(_, m)| !ok(m))
            .map(|(c, _)| *c)
            .collect();
        total += 1;
        passed_n += usize::from(bad.is_empty());
        rows.push(json!({
            "rule": "install commands", "passed": bad.is_empty(),
            "commands": used.iter().map(|(c, m)| json!({"command": c, "manager": m})).collect::<Vec<_>>(),
            "disallowed": bad,
        }));
    }
    (Some(passed_n as f64 / total as f64), rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_commands_are_recognized() {
        assert_eq!(install_managers("npm install"), ["npm"]);
        assert_eq!(
            install_managers("npm i -D x && yarn && pnpm add y; bun install"),
            ["npm", "yarn", "pnpm", "bun"]
        );
        assert_eq!(install_managers("pnpm -F @acme/app add react"), ["pnpm"]);
        assert_eq!(install_managers("/usr/bin/npm ci"), ["npm"]);
        assert_eq!(install_managers("npx pnpm install"), ["pnpm"]);
        assert!(install_managers("npm run test").is_empty());
        assert!(install_managers("yarn test").is_empty());
        assert!(install_managers("pnpm -w -r test --if-present").is_empty());
        assert!(install_managers("cat package.json").is_empty());
    }
}

use super::*;
use std::os::unix::fs::symlink;
use std::time::Instant;

/// Writes `files` (path → content) under a fresh temp dir.
fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let p = dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    dir
}

fn diff(before: &tempfile::TempDir, after: &tempfile::TempDir) -> DiffReport {
    diff_trees(before.path(), after.path(), &DiffOptions::default()).unwrap()
}

fn change(path: &str, kind: ChangeKind, additions: u64, deletions: u64) -> FileChange {
    FileChange {
        path: path.into(),
        kind,
        binary: false,
        too_large: false,
        additions,
        deletions,
    }
}

#[test]
fn identical_trees_give_an_empty_report() {
    let files: &[(&str, &[u8])] = &[("a.txt", b"x\n"), ("d/b.bin", b"\0\x01"), ("d/e/c", b"")];
    let report = diff(&tree(files), &tree(files));
    assert_eq!(report, DiffReport::default());
}

#[test]
fn added_modified_deleted_files_give_a_git_style_patch() {
    let before = tree(&[
        ("a.txt", b"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"),
        ("gone.txt", b"bye\n"),
    ]);
    let after = tree(&[
        ("a.txt", b"1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n"),
        ("new.txt", b"hello\nworld\n"),
    ]);
    let report = diff(&before, &after);
    assert_eq!(
        report.files,
        vec![
            change("a.txt", ChangeKind::Modified, 1, 1),
            change("gone.txt", ChangeKind::Deleted, 0, 1),
            change("new.txt", ChangeKind::Added, 2, 0),
        ]
    );
    let expected = "\
diff --git a/a.txt b/a.txt
--- a/a.txt
+++ b/a.txt
@@ -2,7 +2,7 @@
 2
 3
 4
-5
+five
 6
 7
 8
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/new.txt b/new.txt
new file mode 100644
--- /dev/null
+++ b/new.txt
@@ -0,0 +1,2 @@
+hello
+world
";
    assert_eq!(report.patch, expected);
    assert!(!report.truncated);
    // Deterministic: the same trees give byte-identical reports.
    assert_eq!(diff(&before, &after), report);
}

#[test]
fn binary_and_non_utf8_files_are_noted_not_diffed() {
    let before = tree(&[("img.png", b"\x89PNG\0\x01"), ("latin1.txt", b"caf\xe9\n")]);
    let after = tree(&[
        ("img.png", b"\x89PNG\0\x02"),
        ("latin1.txt", b"caf\xe9s\n"),
        ("new.bin", b"\0"),
    ]);
    let report = diff(&before, &after);
    assert!(report
        .files
        .iter()
        .all(|f| f.binary && f.additions == 0 && f.deletions == 0));
    assert_eq!(report.files.len(), 3);
    assert!(report
        .patch
        .contains("Binary files a/img.png and b/img.png differ\n"));
    assert!(report
        .patch
        .contains("Binary files a/latin1.txt and b/latin1.txt differ\n"));
    assert!(report
        .patch
        .contains("new file mode 100644\nBinary files /dev/null and b/new.bin differ\n"));
}

#[test]
fn ignored_dirs_are_skipped_at_any_depth() {
    let before = tree(&[("src/a.js", b"a\n")]);
    let after = tree(&[
        ("src/a.js", b"a\n"),
        ("node_modules/x/index.js", b"x"),
        ("packages/app/node_modules/y.js", b"y"),
        ("packages/app/dist/out.js", b"z"),
        (".git/HEAD", b"ref"),
        ("src/.next/cache", b"c"),
        ("distribution/kept.txt", b"k\n"),
    ]);
    let report = diff(&before, &after);
    let paths: Vec<_> = report.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["distribution/kept.txt"]);
}

#[test]
fn symlinks_compare_by_target_and_mode_changes_are_reported() {
    let before = tree(&[("run.sh", b"echo hi\n"), ("target.txt", b"t\n")]);
    let after = tree(&[("run.sh", b"echo hi\n"), ("target.txt", b"t\n")]);
    symlink("target.txt", before.path().join("link")).unwrap();
    symlink("/etc/passwd", after.path().join("link")).unwrap();
    symlink("nowhere", after.path().join("dangling")).unwrap();
    fs::set_permissions(
        after.path().join("run.sh"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let report = diff(&before, &after);
    assert_eq!(
        report.files,
        vec![
            change("dangling", ChangeKind::Added, 1, 0),
            change("link", ChangeKind::Modified, 1, 1),
            change("run.sh", ChangeKind::Modified, 0, 0),
        ]
    );
    assert!(
        report.patch.contains("new file mode 120000\n"),
        "{}",
        report.patch
    );
    assert!(
        report
            .patch
            .contains("-target.txt\n\\ No newline at end of file\n+/etc/passwd\n"),
        "{}",
        report.patch
    );
    assert!(report
        .patch
        .contains("diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"));
}

#[test]
fn patch_is_capped_on_a_char_boundary_with_a_note() {
    let big: String = "héllo wörld ✓\n".repeat(200);
    let before = tree(&[]);
    let files: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("f{i:02}.txt"), big.clone().into_bytes()))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_slice()))
        .collect();
    let after = tree(&refs);
    for max in [1000, 1001, 1002, 1003, 5000] {
        let opts = DiffOptions {
            max_patch_bytes: max,
            ..DiffOptions::default()
        };
        let report = diff_trees(before.path(), after.path(), &opts).unwrap();
        assert!(report.truncated);
        assert!(report.patch.len() <= max, "{} > {max}", report.patch.len());
        assert!(report
            .patch
            .ends_with(&format!("[zebench: patch truncated at {max} bytes]\n")));
        // Every file is still listed with its counts.
        assert_eq!(report.files.len(), 20);
        assert!(report.files.iter().all(|f| f.additions == 200));
    }
}

#[test]
fn unicode_paths_and_content_are_diffed() {
    let before = tree(&[("docs/résumé.md", "naïve ☕\n".as_bytes())]);
    let after = tree(&[("docs/résumé.md", "naïve 🍵\n".as_bytes())]);
    let report = diff(&before, &after);
    assert_eq!(
        report.files,
        vec![change("docs/résumé.md", ChangeKind::Modified, 1, 1)]
    );
    assert!(report
        .patch
        .contains("diff --git a/docs/résumé.md b/docs/résumé.md\n"));
    assert!(report.patch.contains("-naïve ☕\n+naïve 🍵\n"));
}

#[test]
fn large_files_are_hashed_not_read_whole() {
    let opts = DiffOptions {
        max_file_bytes: 16,
        ..DiffOptions::default()
    };
    let same = [("same.dat", &b"0123456789abcdefXYZ"[..])];
    let before = tree(&[same[0], ("changed.dat", b"0123456789abcdefXYZ")]);
    let after = tree(&[same[0], ("changed.dat", b"0123456789abcdefXYz")]);
    let report = diff_trees(before.path(), after.path(), &opts).unwrap();
    assert_eq!(report.files.len(), 1);
    let f = &report.files[0];
    assert!(f.path == "changed.dat" && f.too_large && !f.binary && f.kind == ChangeKind::Modified);
    assert_eq!(
        report.patch,
        "diff --git a/changed.dat b/changed.dat\nLarge files a/changed.dat and b/changed.dat differ (19 -> 19 bytes; over the 16-byte diff limit)\n"
    );
}

#[test]
fn a_one_gigabyte_file_stays_out_of_memory_and_patch() {
    let before = tree(&[("a.txt", b"a\n")]);
    let after = tree(&[("a.txt", b"a\n")]);
    let huge = fs::File::create(after.path().join("huge.bin")).unwrap();
    huge.set_len(1 << 30).unwrap();
    // The same huge file on both sides must be compared by streaming hash.
    let same = fs::File::create(before.path().join("same.bin")).unwrap();
    same.set_len(64 << 20).unwrap();
    fs::copy(
        before.path().join("same.bin"),
        after.path().join("same.bin"),
    )
    .unwrap();
    let opts = DiffOptions {
        max_patch_bytes: 4096,
        ..DiffOptions::default()
    };
    let started = Instant::now();
    let report = diff_trees(before.path(), after.path(), &opts).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.files.len(), 1);
    assert!(report.files[0].too_large && report.files[0].kind == ChangeKind::Added);
    assert!(report.patch.len() < 4096);
    assert!(
        report.patch.contains("(0 -> 1073741824 bytes;"),
        "{}",
        report.patch
    );
}

fn pkg(json: &str) -> Vec<u8> {
    json.as_bytes().to_vec()
}

#[test]
fn deps_delta_lists_added_removed_changed_and_moved() {
    let before = tree(&[
        (
            "package.json",
            &pkg(
                r#"{"dependencies":{"react":"^18.0.0","lodash":"4","moved":"1"},"devDependencies":{"jest":"29"}}"#,
            ),
        ),
        (
            "packages/ui/package.json",
            &pkg(r#"{"peerDependencies":{"react":"*"}}"#),
        ),
        (
            "node_modules/x/package.json",
            &pkg(r#"{"dependencies":{"ignored":"1"}}"#),
        ),
    ]);
    let after = tree(&[
        (
            "package.json",
            &pkg(
                r#"{"dependencies":{"react":"^19.0.0","zod":"3"},"devDependencies":{"jest":"29","moved":"1"}}"#,
            ),
        ),
        (
            "packages/ui/package.json",
            &pkg(r#"{"peerDependencies":{"react":"*"}}"#),
        ),
        (
            "node_modules/x/package.json",
            &pkg(r#"{"dependencies":{"ignored":"2"}}"#),
        ),
    ]);
    let delta = deps_delta(before.path(), after.path());
    let c = |section: &str, name: &str, b: Option<&str>, a: Option<&str>| DepChange {
        file: "package.json".into(),
        section: section.into(),
        name: name.into(),
        before: b.map(Into::into),
        after: a.map(Into::into),
    };
    assert_eq!(
        delta.changes,
        vec![
            c("dependencies", "lodash", Some("4"), None),
            c("dependencies", "moved", Some("1"), None),
            c("dependencies", "react", Some("^18.0.0"), Some("^19.0.0")),
            c("dependencies", "zod", None, Some("3")),
            c("devDependencies", "moved", None, Some("1")),
        ]
    );
    let files: Vec<_> = delta.after.keys().map(String::as_str).collect();
    assert_eq!(files, ["package.json", "packages/ui/package.json"]);
    assert_eq!(
        delta.before["package.json"]["devDependencies"]["jest"],
        "29"
    );
    assert_eq!(
        delta.after["packages/ui/package.json"]["peerDependencies"]["react"],
        "*"
    );
}

#[test]
fn deps_delta_handles_new_deleted_and_broken_files() {
    let before = tree(&[
        ("a/package.json", &pkg(r#"{"dependencies":{"x":"1"}}"#)),
        ("b/package.json", &pkg(r#"{"dependencies":{"y":"1"}}"#)),
    ]);
    let after = tree(&[
        ("a/package.json", &pkg(r#"{"dependencies":{"x":"1""#)), // broken by the agent
        (
            "c/package.json",
            &pkg(r#"{"optionalDependencies":{"z":"2"}}"#),
        ),
    ]);
    let delta = deps_delta(before.path(), after.path());
    let summary: Vec<_> = delta
        .changes
        .iter()
        .map(|c| {
            (
                c.file.as_str(),
                c.name.as_str(),
                c.before.is_some(),
                c.after.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("b/package.json", "y", true, false),
            ("c/package.json", "z", false, true)
        ]
    );
    assert!(!delta.after.contains_key("a/package.json"));
    assert!(delta.before.contains_key("a/package.json"));
    let same = deps_delta(before.path(), before.path());
    assert!(same.changes.is_empty());
    assert_eq!(same.before, same.after);
}

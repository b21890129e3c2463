use super::*;
use std::os::unix::fs::symlink;

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::create_dir_all(p.join("src/nested/deep")).unwrap();
    fs::write(p.join("package.json"), "{}").unwrap();
    fs::write(p.join("src/nested/deep/a.txt"), "deep").unwrap();
    fs::write(p.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(p.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    symlink("src/nested/deep/a.txt", p.join("link")).unwrap();
    symlink("/etc/passwd", p.join("outside-link")).unwrap();
    fs::create_dir_all(p.join("node_modules/pkg")).unwrap();
    fs::write(p.join("node_modules/pkg/index.js"), "x").unwrap();
    fs::create_dir_all(p.join("src/node_modules")).unwrap();
    fs::write(p.join("src/node_modules/y.js"), "y").unwrap();
    fs::create_dir_all(p.join(".git")).unwrap();
    fs::write(p.join(".git/HEAD"), "ref").unwrap();
    fs::write(p.join("src/.gitignore"), "dist").unwrap();
    dir
}

#[test]
fn copy_preserves_tree_exec_bits_and_symlinks() {
    let fx = fixture();
    let ws = Workspace::create(Some(fx.path()), None).unwrap();
    let r = ws.path();
    assert!(ws
        .dir()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("zebench-ws-"));
    assert_eq!(
        fs::read_to_string(r.join("src/nested/deep/a.txt")).unwrap(),
        "deep"
    );
    assert_eq!(
        fs::metadata(r.join("run.sh")).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert_eq!(
        fs::metadata(r.join("package.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o111,
        0
    );
    for (link, to) in [
        ("link", "src/nested/deep/a.txt"),
        ("outside-link", "/etc/passwd"),
    ] {
        assert!(fs::symlink_metadata(r.join(link))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_link(r.join(link)).unwrap(), PathBuf::from(to));
    }
    assert!(r.join("src/.gitignore").exists());
}

#[test]
fn copy_skips_git_and_node_modules_at_any_depth() {
    let fx = fixture();
    let dst = tempfile::tempdir().unwrap();
    let n = copy_tree(fx.path(), &dst.path().join("out"), FIXTURE_SKIP_DIRS).unwrap();
    let out = dst.path().join("out");
    assert!(!out.join("node_modules").exists());
    assert!(!out.join("src/node_modules").exists());
    assert!(!out.join(".git").exists());
    // package.json, a.txt, run.sh, link, outside-link, src/.gitignore
    assert_eq!(n, 6);
}

#[test]
fn refuses_parent_inside_fixture() {
    let fx = fixture();
    let inner = fx.path().join("src");
    let err = Workspace::create(Some(fx.path()), Some(&inner)).unwrap_err();
    assert!(matches!(err, WorkspaceError::InsideFixture { .. }), "{err}");
    assert!(
        err.to_string().contains(&inner.display().to_string()),
        "{err}"
    );
    let err = copy_tree(fx.path(), &fx.path().join("copy/here"), &[]).unwrap_err();
    assert!(
        matches!(err, WorkspaceError::DestinationInsideSource { .. }),
        "{err}"
    );
    assert!(!fx.path().join("copy").exists());
}

#[test]
fn finish_and_drop_follow_the_policy() {
    let parent = tempfile::tempdir().unwrap();
    let fx = fixture();
    let count = || fs::read_dir(parent.path()).unwrap().count();

    let ws = Workspace::create(Some(fx.path()), Some(parent.path())).unwrap();
    assert_eq!(count(), 1);
    assert_eq!(ws.finish(true, KeepPolicy::Never), None);
    assert_eq!(count(), 0);

    let ws = Workspace::create(Some(fx.path()), Some(parent.path())).unwrap();
    assert_eq!(ws.finish(false, KeepPolicy::OnFailure), None);
    assert_eq!(count(), 0);

    let ws = Workspace::create(None, Some(parent.path())).unwrap();
    let expected = ws.path().to_path_buf();
    let kept = ws.finish(true, KeepPolicy::OnFailure).unwrap();
    assert_eq!(kept, expected);
    assert!(kept.is_dir());
    remove_tree(kept.parent().unwrap()).unwrap();

    let ws = Workspace::create(Some(fx.path()), Some(parent.path())).unwrap();
    // a read-only folder left behind by the agent must not block removal
    fs::create_dir(ws.path().join("ro")).unwrap();
    fs::write(ws.path().join("ro/f"), "x").unwrap();
    fs::set_permissions(ws.path().join("ro"), fs::Permissions::from_mode(0o555)).unwrap();
    drop(ws);
    assert_eq!(count(), 0);

    let kept = Workspace::create(None, Some(parent.path()))
        .unwrap()
        .finish(false, KeepPolicy::Always);
    assert!(kept.unwrap().is_dir());
}

#[test]
fn missing_fixture_and_parent_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-fixture");
    let err = Workspace::create(Some(&missing), None).unwrap_err();
    assert!(matches!(err, WorkspaceError::FixtureMissing { .. }));
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
    let err = Workspace::create(None, Some(&missing)).unwrap_err();
    assert!(matches!(err, WorkspaceError::ParentMissing { .. }));
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
}

#[test]
fn keep_policy_parses_and_defaults_to_never() {
    assert_eq!(KeepPolicy::default(), KeepPolicy::Never);
    for p in [KeepPolicy::Never, KeepPolicy::OnFailure, KeepPolicy::Always] {
        assert_eq!(p.to_string().parse::<KeepPolicy>().unwrap(), p);
    }
    assert!("sometimes"
        .parse::<KeepPolicy>()
        .unwrap_err()
        .contains("on-failure"));
}

#[test]
fn copy_onto_an_existing_tree_overlays_without_following_links() {
    let src = tempfile::tempdir().unwrap();
    fs::create_dir_all(src.path().join("src")).unwrap();
    fs::write(src.path().join("src/a.txt"), "new").unwrap();
    fs::write(src.path().join("evil"), "replaced").unwrap();
    fs::write(src.path().join("was-dir"), "file now").unwrap();

    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), "untouched").unwrap();
    let dst = tempfile::tempdir().unwrap();
    fs::create_dir_all(dst.path().join("src")).unwrap();
    fs::write(dst.path().join("src/a.txt"), "old").unwrap();
    fs::write(dst.path().join("src/keep.txt"), "kept").unwrap();
    symlink(outside.path().join("secret"), dst.path().join("evil")).unwrap();
    fs::create_dir_all(dst.path().join("was-dir/inner")).unwrap();

    assert_eq!(copy_tree(src.path(), dst.path(), &[]).unwrap(), 3);
    let read = |p: &str| fs::read_to_string(dst.path().join(p)).unwrap();
    assert_eq!(read("src/a.txt"), "new");
    assert_eq!(read("src/keep.txt"), "kept");
    assert_eq!(read("evil"), "replaced");
    assert!(!fs::symlink_metadata(dst.path().join("evil"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read("was-dir"), "file now");
    assert_eq!(
        fs::read_to_string(outside.path().join("secret")).unwrap(),
        "untouched"
    );
}

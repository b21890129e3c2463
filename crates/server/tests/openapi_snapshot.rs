//! The generated OpenAPI document must equal `docs/openapi.json`, so every change to the API
//! contract is visible in review. After an intended change, regenerate it with
//! `UPDATE_SNAPSHOTS=1 cargo test -p zebench-server --test openapi_snapshot`.

use std::path::PathBuf;

#[test]
fn openapi_matches_the_committed_snapshot() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let generated = zebench_server::openapi::spec_json() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is out of date with the code; if the change is intended, run \
         UPDATE_SNAPSHOTS=1 cargo test -p zebench-server --test openapi_snapshot"
    );
}

#[test]
fn openapi_is_3_1_and_documents_errors() {
    let spec: serde_json::Value =
        serde_json::from_str(&zebench_server::openapi::spec_json()).expect("valid JSON");
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let create = &spec["paths"]["/api/results"]["post"];
    for code in ["200", "201", "400", "401", "403", "409", "413"] {
        assert!(
            create["responses"][code].is_object(),
            "POST /api/results documents {code}"
        );
    }
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
}

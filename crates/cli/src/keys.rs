//! `zebench keys`: the operator's side of named API keys. Only digests are written; a new key
//! is printed once, on standard output, so it can be piped straight into a secret store.

use crate::cli::{KeysAddArgs, KeysCommand};
use crate::Failure;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use std::io::Read;
use zebench_server::keys::{generate_key, hash_key, KeysFile};
use zebench_server::Scope;

/// Shortest key accepted from standard input: shorter ones are guessable.
const MIN_KEY_LEN: usize = 24;

pub fn run(cmd: KeysCommand) -> Result<(), Failure> {
    match cmd {
        KeysCommand::Add(a) => add(a),
        KeysCommand::Revoke(a) => {
            let mut file = KeysFile::load(&a.file.file).map_err(Failure::usage)?;
            file.revoke(&a.name).map_err(Failure::usage)?;
            file.save(&a.file.file).map_err(Failure::infra)?;
            eprintln!(
                "revoked {:?} in {}; a running server refuses it within seconds",
                a.name,
                a.file.file.display()
            );
            Ok(())
        }
        KeysCommand::List(a) => {
            let file = KeysFile::load(&a.file).map_err(Failure::usage)?;
            if file.key.is_empty() {
                eprintln!(
                    "no keys in {} (add one with `zebench keys add NAME --file {}`)",
                    a.file.display(),
                    a.file.display()
                );
                return Ok(());
            }
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED)
                .set_header(["name", "scope", "created", "state"]);
            for k in &file.key {
                t.add_row([
                    k.name.clone(),
                    k.scope.to_string(),
                    k.created.clone().unwrap_or_default(),
                    if k.revoked { "revoked" } else { "active" }.to_string(),
                ]);
            }
            out!("{t}");
            Ok(())
        }
        KeysCommand::Hash => {
            let key = read_stdin_key()?;
            out!("{}", hash_key(&key));
            Ok(())
        }
    }
}

fn add(a: KeysAddArgs) -> Result<(), Failure> {
    let path = &a.file.file;
    let mut file = KeysFile::load(path).map_err(Failure::usage)?;
    let key = if a.stdin {
        read_stdin_key()?
    } else {
        generate_key()
    };
    let scope = if a.read { Scope::Read } else { Scope::Write };
    file.add(&a.name, scope, &key).map_err(Failure::usage)?;
    file.save(path).map_err(Failure::infra)?;
    eprintln!(
        "added {scope} key {:?} to {}{}",
        a.name,
        path.display(),
        if a.stdin {
            ""
        } else {
            "; the key follows, shown only this once"
        }
    );
    if !a.stdin {
        out!("{key}");
    }
    Ok(())
}

fn read_stdin_key() -> Result<String, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(Failure::usage)?;
    let key = text.trim().to_string();
    if key.len() < MIN_KEY_LEN {
        return Err(Failure::usage(anyhow::anyhow!(
            "the key on standard input has {} characters; use at least {MIN_KEY_LEN} (or let `zebench keys add` make one)",
            key.len()
        )));
    }
    Ok(key)
}

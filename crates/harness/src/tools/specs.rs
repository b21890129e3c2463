//! The tool descriptions and full JSON Schemas sent to the model (the seed's OpenRouter adapter
//! stripped the schemas; models call tools far more reliably with them).

use super::{ToolSpec, LIST_CAP, READ_CAP};
use serde_json::{json, Value};

fn spec(name: &str, description: String, properties: Value, required: &[&str]) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description,
        input_schema: json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        }),
    }
}

/// Every tool, `ask_user` only when an oracle answers it.
pub(super) fn all(with_oracle: bool) -> Vec<ToolSpec> {
    let path_prop = |what: &str| {
        json!({
            "type": "string",
            "description": format!("{what} Relative to the workspace root (absolute paths must be inside the workspace)."),
        })
    };
    let mut specs = vec![
        spec(
            "read_file",
            format!("Read a text file from the workspace. Output is cut after {} KiB with a note.", READ_CAP / 1024),
            json!({ "path": path_prop("File to read.") }),
            &["path"],
        ),
        spec(
            "write_file",
            "Create or overwrite a file in the workspace with the given content. Missing parent folders are created.".into(),
            json!({
                "path": path_prop("File to write."),
                "content": { "type": "string", "description": "The complete new content of the file." },
            }),
            &["path", "content"],
        ),
        spec(
            "edit_file",
            "Replace an exact string in a file. Fails when old_string is not found, or when it appears more than once and replace_all is not true.".into(),
            json!({
                "path": path_prop("File to edit."),
                "old_string": { "type": "string", "description": "Exact text to replace, including whitespace and indentation." },
                "new_string": { "type": "string", "description": "Text to put in its place." },
                "replace_all": { "type": "boolean", "description": "Replace every occurrence instead of requiring exactly one (default false).", "default": false },
            }),
            &["path", "old_string", "new_string"],
        ),
        spec(
            "list_files",
            format!("List files and folders (folders end with /). .git and node_modules are not descended into. At most {LIST_CAP} entries."),
            json!({
                "path": path_prop("Folder to list (default: the workspace root)."),
                "recursive": { "type": "boolean", "description": "List subfolders too (default false).", "default": false },
            }),
            &[],
        ),
        spec(
            "run_command",
            "Run a shell command (sh -c) in the workspace root and return its exit code and combined output (capped). Long-running commands are killed at the timeout.".into(),
            json!({
                "command": { "type": "string", "description": "The shell command line to run." },
                "timeout_seconds": { "type": "number", "description": "Timeout in seconds (capped by the harness maximum; default: that maximum).", "exclusiveMinimum": 0 },
            }),
            &["command"],
        ),
    ];
    if with_oracle {
        specs.push(spec(
            "ask_user",
            "Ask the user a clarifying question (e.g. about risky upgrades or ambiguous requirements) and get their answer.".into(),
            json!({ "question": { "type": "string", "description": "The question, stated clearly and self-contained." } }),
            &["question"],
        ));
    }
    specs
}

//! `enact init`: a working starter project in the current directory — a config, a workflow,
//! a policy with its tests, a workspace, and a signing secret only its owner can read.
//! Existing files are never overwritten.

use std::path::Path;

use super::{Output, exit};

const CONFIG: &str = r#"# Enact configuration: https://github.com/enact-dev/enact#configuration
receipts: ./receipts              # signed, chained receipts (or postgres://...)
secret_env: ENACT_SECRET          # the signing secret's variable; when unset, secret_file is read
secret_file: .enact/secret        # created by `enact init`, mode 600, git-ignored
rollback: true
policies:                         # applied to every workflow
  - use: filesystem.dont_touch_ci_cd
  - use: filesystem.dont_read_env
  - file: ./policies/custom.enact
systems:
  files:
    connector: filesystem
    base_dir: ./workspace
    allowed_actions: [read_file, write_file, list_dir]
  db:
    connector: sqlite
    path: ./app.db
    allowed_actions: [select_rows, insert_row, update_row]
workflows: [./workflows]
"#;

const WORKFLOW: &str = r#"name: hello
description: Write a greeting into the workspace.
inputs:
  name: { type: string, required: true, pattern: '^[A-Za-z][A-Za-z -]{0,40}$' }
  file: { type: string, default: "hello.txt" }
steps:
  - id: greet
    action: files.write_file
    with:
      path: "${payload.file}"
      content: "Hello, ${payload.name}!\n"
outputs:
  written: "${steps.greet.output.path}"
"#;

const POLICY: &str = r#"## Keeps greetings out of hidden files.
policy no_hidden_files {
  let name = path.basename(input.path ?? input.file ?? "")
  deny when starts_with(name, ".") because "'{name}' is a hidden file"
  pass "'{name}' is not hidden"
}
"#;

const POLICY_TESTS: &str = r#"tests no_hidden_files {
  "a plain file passes" { file: "hello.txt" } => PASS
  "a dotfile is blocked" { file: ".bashrc" } => BLOCK "'.bashrc' is a hidden file"
}
"#;

pub fn run(out: &Output) -> u8 {
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(error) => {
            out.error(&format!("cannot read the current directory: {error}"));
            return exit::USAGE;
        }
    };
    match init(&cwd) {
        Ok(report) => {
            out.print(&report);
            exit::OK
        }
        Err(message) => {
            out.error(&message);
            exit::FAILURE
        }
    }
}

fn init(dir: &Path) -> Result<String, String> {
    let mut report = String::new();
    let files: [(&str, &str); 4] = [
        ("enact.yaml", CONFIG),
        ("workflows/hello.yaml", WORKFLOW),
        ("policies/custom.enact", POLICY),
        ("policies/custom.test.enact", POLICY_TESTS),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        if path.exists() {
            report.push_str(&format!("kept     {name} (already there)\n"));
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        report.push_str(&format!("created  {name}\n"));
    }
    let workspace = dir.join("workspace");
    if !workspace.exists() {
        std::fs::create_dir_all(&workspace)
            .map_err(|e| format!("cannot create {}: {e}", workspace.display()))?;
        report.push_str("created  workspace/\n");
    }
    let secret = dir.join(".enact/secret");
    if secret.exists() {
        report.push_str("kept     .enact/secret (already there)\n");
    } else {
        crate::engine::create_secret_file(&secret)?;
        report.push_str("created  .enact/secret (mode 600)\n");
    }
    if crate::engine::ignore_in_git(dir, ".enact/secret")? {
        report.push_str("added    .enact/secret to .gitignore\n");
    }
    report.push_str(
        "\nNext:\n  enact run hello --payload '{\"name\": \"Ada\"}'\n  enact ls\n  enact verify\n",
    );
    Ok(report)
}

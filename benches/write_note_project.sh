# Sourced by the bench scripts (pipeline.sh, compare.sh): `write_note_project DIR` makes DIR a
# project whose workflow `write_note` writes a file into ./workspace under ten filesystem
# policies, and sets `pass` (a payload that passes) and `block` (one that is blocked). The
# Python original's namesakes are in benches/compare/python/run_workflow.py.
write_note_project() {
  mkdir -p "$1/workspace" "$1/workflows"
  cat > "$1/enact.yaml" <<'YAML'
receipts: ./receipts
policies:
  - use: filesystem.dont_read_env
  - use: filesystem.dont_touch_ci_cd
  - use: filesystem.dont_edit_gitignore
  - use: filesystem.dont_access_home_dir
  - use: filesystem.dont_copy_api_keys
  - use: filesystem.block_extensions
    with: { extensions: [".pem", ".key"] }
  - use: filesystem.restrict_paths
    with: { allowed_dirs: ["notes"] }
  - use: access.dont_read_sensitive_paths
    with: { paths: ["/etc", "/var/secrets"] }
  - use: git.dont_commit_api_keys
  - use: prompt_injection.block_prompt_injection
systems:
  files: { connector: filesystem, base_dir: ./workspace, allowed_actions: [write_file] }
workflows: [./workflows]
YAML
  cat > "$1/workflows/write_note.yaml" <<'YAML'
name: write_note
description: Write a note into the workspace.
inputs:
  path: { type: string, required: true }
  content: { type: string, required: true }
steps:
  - id: write
    action: files.write_file
    with: { path: "${payload.path}", content: "${payload.content}", create_dirs: true }
YAML
  pass='{"path": "notes/today.md", "content": "Standup at ten.\n"}'
  block='{"path": ".env", "content": "TOKEN=1"}'
}

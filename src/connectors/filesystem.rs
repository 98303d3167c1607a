//! The `filesystem` connector: read, write, delete and list files confined to one base
//! directory, capturing the exact bytes and mode of whatever a write or delete destroys.
//!
//! Confinement: a path is relative, has no `..`, and every directory on the way that exists
//! is resolved (symlinks followed) and must stay inside the canonical base directory. Writes
//! and deletes refuse a symlink as the final component outright — rollback could otherwise
//! restore bytes somewhere else than where they came from; reads follow it if it stays inside.

use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value as Json, json};

use super::{
    ActionOutcome, ActionSpec, Connector, ConnectorError, Effect, Inverse, ParamSpec, ParamType,
    UndoOutcome, base64, check_args, find_action,
};

pub const KIND: &str = "filesystem";

/// Files larger than this are neither read nor captured for rollback: their old content would
/// go into the receipt.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

const PATH: ParamSpec = ParamSpec {
    name: "path",
    ty: ParamType::String,
    required: true,
    description: "a path relative to base_dir",
};

pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "read_file",
        description: "Read a file: UTF-8 text as `content`, other bytes as `content_base64`.",
        params: &[PATH],
        effect: Effect::ReadOnly,
        inverse: Inverse::None,
    },
    ActionSpec {
        name: "write_file",
        description: "Write a text file atomically, keeping the mode of the file it replaces.",
        params: &[
            PATH,
            ParamSpec {
                name: "content",
                ty: ParamType::String,
                required: true,
                description: "the file's new text",
            },
            ParamSpec {
                name: "create_dirs",
                ty: ParamType::Bool,
                required: false,
                description: "create missing parent directories (default false)",
            },
        ],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "restore_file",
            description: "restore the old content and mode, or delete the file and the \
                          directories it created if it was new",
        },
    },
    ActionSpec {
        name: "delete_file",
        description: "Delete a file (not a directory, not a symlink).",
        params: &[PATH],
        effect: Effect::Mutating,
        inverse: Inverse::Reversible {
            name: "recreate_file",
            description: "recreate the file with its captured content and mode",
        },
    },
    ActionSpec {
        name: "list_dir",
        description: "List a directory's entries, sorted by name.",
        params: &[ParamSpec {
            name: "path",
            ty: ParamType::String,
            required: false,
            description: "a directory relative to base_dir (default `.`)",
        }],
        effect: Effect::ReadOnly,
        inverse: Inverse::None,
    },
];

/// Files under one directory.
#[derive(Debug, Clone)]
pub struct FilesystemConnector {
    /// Canonical: every confinement check compares canonical paths against it.
    base: PathBuf,
}

/// Where a checked path lands.
struct Target {
    /// The path as given, normalised (`a/b.txt`), for outputs and rollback data.
    rel: String,
    /// The file itself: its directories canonical as far as they exist, then the missing ones,
    /// then the name (a final symlink is not resolved here).
    full: PathBuf,
    /// The missing directories between the deepest existing one and the parent, outermost
    /// first, relative to base_dir (as `rel`), and where each will be created.
    missing_dirs: Vec<(String, PathBuf)>,
}

/// What is at a path, without following a final symlink.
enum Found {
    Missing,
    File(fs::Metadata),
    Dir,
    Symlink,
    Other,
}

impl FilesystemConnector {
    /// A connector confined to `base_dir`, which must exist and be a directory.
    pub fn new(base_dir: PathBuf) -> Result<Self, ConnectorError> {
        let base = fs::canonicalize(&base_dir).map_err(|e| {
            ConnectorError::Failed(format!(
                "filesystem base_dir `{}` cannot be used: {e}; create it or fix `base_dir`",
                base_dir.display()
            ))
        })?;
        if !base.is_dir() {
            return Err(ConnectorError::Failed(format!(
                "filesystem base_dir `{}` is not a directory",
                base_dir.display()
            )));
        }
        Ok(FilesystemConnector { base })
    }

    /// The canonical base directory.
    pub fn base_dir(&self) -> &Path {
        &self.base
    }

    fn refuse(&self, raw: &str, why: &str) -> ConnectorError {
        ConnectorError::Refused(format!(
            "path `{}` {why}; paths are relative to base_dir `{}` and must stay inside it",
            raw.escape_debug(),
            self.base.display()
        ))
    }

    /// The path's normal components, or a refusal for anything that could name a place
    /// outside base_dir by its shape alone.
    fn components(&self, raw: &str) -> Result<Vec<String>, ConnectorError> {
        if raw.is_empty() {
            return Err(self.refuse(raw, "is empty"));
        }
        if raw.contains('\0') {
            return Err(self.refuse(raw, "contains a NUL byte"));
        }
        if raw.starts_with('/') || raw.starts_with('\\') || Path::new(raw).is_absolute() {
            return Err(self.refuse(raw, "is absolute"));
        }
        let mut parts = Vec::new();
        for component in Path::new(raw).components() {
            match component {
                Component::Normal(part) => {
                    parts.push(part.to_string_lossy().into_owned());
                }
                Component::CurDir => {}
                Component::ParentDir => return Err(self.refuse(raw, "contains `..`")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(self.refuse(raw, "is absolute"));
                }
            }
        }
        Ok(parts)
    }

    /// Resolves the existing part of `dirs` (following symlinks) and checks it stays inside.
    /// Returns the canonical directory and how many of `dirs` it covers.
    fn resolve_existing(
        &self,
        raw: &str,
        dirs: &[String],
    ) -> Result<(PathBuf, usize), ConnectorError> {
        let mut existing = dirs.len();
        while existing > 0 {
            let candidate = join(&self.base, dirs.iter().take(existing));
            if fs::symlink_metadata(&candidate).is_ok() {
                break;
            }
            existing -= 1;
        }
        let anchor = join(&self.base, dirs.iter().take(existing));
        let canonical = fs::canonicalize(&anchor).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                self.refuse(raw, "passes through a symlink that points nowhere")
            } else {
                ConnectorError::Failed(format!(
                    "cannot resolve `{}` under base_dir `{}`: {e}",
                    anchor.display(),
                    self.base.display()
                ))
            }
        })?;
        if !canonical.starts_with(&self.base) {
            return Err(self.refuse(raw, "leads outside through a symlink"));
        }
        Ok((canonical, existing))
    }

    /// The file a path names (not `.`), with its parent resolved and confined.
    fn locate(&self, raw: &str) -> Result<Target, ConnectorError> {
        let parts = self.components(raw)?;
        let Some((name, dirs)) = parts.split_last() else {
            return Err(self.refuse(raw, "names base_dir itself, not a file"));
        };
        let (canonical, existing) = self.resolve_existing(raw, dirs)?;
        let mut parent = canonical;
        let mut missing_dirs = Vec::new();
        for (index, dir) in dirs.iter().enumerate().skip(existing) {
            parent.push(dir);
            let rel = dirs.get(..=index).unwrap_or_default().join("/");
            missing_dirs.push((rel, parent.clone()));
        }
        Ok(Target {
            rel: parts.join("/"),
            full: parent.join(name),
            missing_dirs,
        })
    }

    /// For reads: follows a final symlink, which must stay inside and lead to a regular file.
    fn readable_file(&self, raw: &str, target: &Target) -> Result<PathBuf, ConnectorError> {
        let path = match found(&target.full)? {
            Found::Missing => {
                return Err(ConnectorError::Failed(format!(
                    "`{}` does not exist under base_dir `{}`",
                    target.rel,
                    self.base.display()
                )));
            }
            Found::File(_) => target.full.clone(),
            Found::Symlink => {
                let resolved = fs::canonicalize(&target.full)
                    .map_err(|_| self.refuse(raw, "is a symlink that points nowhere"))?;
                if !resolved.starts_with(&self.base) {
                    return Err(self.refuse(raw, "is a symlink that leads outside"));
                }
                resolved
            }
            Found::Dir => {
                return Err(ConnectorError::Failed(format!(
                    "`{}` is a directory; use list_dir",
                    target.rel
                )));
            }
            Found::Other => return Err(not_regular(&target.rel)),
        };
        let meta = fs::metadata(&path).map_err(|e| io_failed("read", &target.rel, &e))?;
        if !meta.is_file() {
            return Err(not_regular(&target.rel));
        }
        Ok(path)
    }

    fn read_file(&self, args: &Json) -> Result<ActionOutcome, ConnectorError> {
        let raw = str_arg(args, "path").unwrap_or_default();
        let target = self.locate(raw)?;
        let path = self.readable_file(raw, &target)?;
        let bytes = read_capped(&path, &target.rel)?;
        let mut output = Map::new();
        output.insert("path".into(), json!(target.rel));
        put_content(&mut output, &bytes);
        output.insert("size".into(), json!(bytes.len()));
        Ok(ActionOutcome {
            output: Json::Object(output),
            already_done: None,
            rollback_data: Json::Null,
        })
    }

    fn write_file(
        &self,
        args: &Json,
        prepared: &mut dyn FnMut(&Json) -> Result<(), String>,
    ) -> Result<ActionOutcome, ConnectorError> {
        let raw = str_arg(args, "path").unwrap_or_default();
        let content = str_arg(args, "content").unwrap_or_default();
        let create_dirs = args.get("create_dirs").and_then(Json::as_bool) == Some(true);
        let target = self.locate(raw)?;
        let old = match found(&target.full)? {
            Found::Missing => None,
            Found::File(meta) => Some((read_capped(&target.full, &target.rel)?, mode_of(&meta))),
            Found::Dir => {
                return Err(ConnectorError::Refused(format!(
                    "`{}` is a directory; write_file writes files only",
                    target.rel
                )));
            }
            Found::Symlink => return Err(symlink_refused(&target.rel, "write")),
            Found::Other => return Err(not_regular(&target.rel)),
        };
        if let (None, Some((dir, _))) = (&old, target.missing_dirs.first())
            && !create_dirs
        {
            return Err(ConnectorError::Failed(format!(
                "directory `{dir}` does not exist under base_dir `{}`; pass `create_dirs: true` \
                 to create it",
                self.base.display()
            )));
        }
        let output = json!({
            "path": target.rel,
            "bytes": content.len(),
            "created": old.is_none(),
        });
        let rollback_data = match &old {
            Some((bytes, mode)) => {
                let mut data = Map::new();
                data.insert("path".into(), json!(target.rel));
                data.insert("existed".into(), json!(true));
                put_content(&mut data, bytes);
                data.insert("mode".into(), mode_json(*mode));
                Json::Object(data)
            }
            None => json!({
                "path": target.rel,
                "existed": false,
                "created_dirs": target.missing_dirs.iter().map(|(rel, _)| rel).collect::<Vec<_>>(),
            }),
        };
        if let Some((bytes, _)) = &old
            && bytes.as_slice() == content.as_bytes()
        {
            return Ok(ActionOutcome {
                output,
                already_done: Some("unchanged"),
                rollback_data,
            });
        }
        prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;

        let mut created = Vec::new();
        for (rel, dir) in &target.missing_dirs {
            if let Err(e) = fs::create_dir(dir) {
                remove_empty_dirs(&created);
                return Err(io_failed("create directory", rel, &e));
            }
            created.push(dir.clone());
        }
        let mode = old.as_ref().and_then(|(_, mode)| *mode);
        if let Err(e) = write_atomically(&target.full, content.as_bytes(), mode) {
            remove_empty_dirs(&created);
            return Err(io_failed("write", &target.rel, &e));
        }
        Ok(ActionOutcome {
            output,
            already_done: None,
            rollback_data,
        })
    }

    fn delete_file(
        &self,
        args: &Json,
        prepared: &mut dyn FnMut(&Json) -> Result<(), String>,
    ) -> Result<ActionOutcome, ConnectorError> {
        let raw = str_arg(args, "path").unwrap_or_default();
        let target = self.locate(raw)?;
        let meta = match found(&target.full)? {
            Found::Missing => {
                return Ok(ActionOutcome {
                    output: json!({"path": target.rel, "deleted": false}),
                    already_done: Some("absent"),
                    rollback_data: Json::Null,
                });
            }
            Found::File(meta) => meta,
            Found::Dir => {
                return Err(ConnectorError::Refused(format!(
                    "`{}` is a directory; delete_file deletes files only",
                    target.rel
                )));
            }
            Found::Symlink => return Err(symlink_refused(&target.rel, "delete")),
            Found::Other => return Err(not_regular(&target.rel)),
        };
        let bytes = read_capped(&target.full, &target.rel)?;
        let mut data = Map::new();
        data.insert("path".into(), json!(target.rel));
        put_content(&mut data, &bytes);
        data.insert("mode".into(), mode_json(mode_of(&meta)));
        let rollback_data = Json::Object(data);
        prepared(&rollback_data).map_err(ConnectorError::NotJournaled)?;
        fs::remove_file(&target.full).map_err(|e| io_failed("delete", &target.rel, &e))?;
        sync_parent(&target.full);
        Ok(ActionOutcome {
            output: json!({"path": target.rel, "deleted": true, "bytes": bytes.len()}),
            already_done: None,
            rollback_data,
        })
    }

    fn list_dir(&self, args: &Json) -> Result<ActionOutcome, ConnectorError> {
        let raw = str_arg(args, "path").unwrap_or(".");
        let parts = self.components(raw)?;
        let (dir, existing) = self.resolve_existing(raw, &parts)?;
        let rel = if parts.is_empty() {
            ".".to_string()
        } else {
            parts.join("/")
        };
        if existing < parts.len() {
            return Err(ConnectorError::Failed(format!(
                "directory `{rel}` does not exist under base_dir `{}`",
                self.base.display()
            )));
        }
        if !dir.is_dir() {
            return Err(ConnectorError::Failed(format!(
                "`{rel}` is not a directory; use read_file"
            )));
        }
        let mut entries = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| io_failed("list", &rel, &e))? {
            let entry = entry.map_err(|e| io_failed("list", &rel, &e))?;
            let meta =
                fs::symlink_metadata(entry.path()).map_err(|e| io_failed("list", &rel, &e))?;
            let file_type = meta.file_type();
            let (kind, size) = if file_type.is_symlink() {
                ("symlink", json!(meta.len()))
            } else if file_type.is_dir() {
                ("dir", Json::Null)
            } else if file_type.is_file() {
                ("file", json!(meta.len()))
            } else {
                ("other", Json::Null)
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            entries.push((name, kind, size));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let entries: Vec<Json> = entries
            .into_iter()
            .map(|(name, kind, size)| json!({"name": name, "type": kind, "size": size}))
            .collect();
        Ok(ActionOutcome {
            output: json!({"path": rel, "entries": entries}),
            already_done: None,
            rollback_data: Json::Null,
        })
    }

    /// restore_file: the old bytes and mode back, or the created file (and directories) gone.
    fn restore_file(
        &self,
        args: &Json,
        output: &Json,
        data: &Json,
    ) -> Result<UndoOutcome, ConnectorError> {
        const INVERSE: &str = "restore_file";
        let raw = data
            .get("path")
            .and_then(Json::as_str)
            .ok_or_else(|| malformed("write_file", "no `path`"))?;
        let Some(existed) = data.get("existed").and_then(Json::as_bool) else {
            return Err(malformed("write_file", "no `existed`"));
        };
        let target = self.locate(raw)?;
        let now = found(&target.full)?;
        if existed {
            let old = content_of(data).ok_or_else(|| malformed("write_file", "no old content"))?;
            let mode = parse_mode(data.get("mode"))?;
            match now {
                Found::File(meta) => {
                    let current = read_capped(&target.full, &target.rel)?;
                    if current == old && (mode.is_none() || mode_of(&meta) == mode) {
                        return Ok(UndoOutcome {
                            action: INVERSE,
                            output: json!({"path": target.rel, "restored": false}),
                            already_done: Some("unchanged"),
                        });
                    }
                }
                Found::Missing => {
                    let parent = target.full.parent().unwrap_or(&self.base);
                    fs::create_dir_all(parent)
                        .map_err(|e| io_failed("recreate the directory of", &target.rel, &e))?;
                }
                Found::Dir | Found::Symlink | Found::Other => {
                    return Err(not_restorable(&target.rel, "write_file"));
                }
            }
            write_atomically(&target.full, &old, mode)
                .map_err(|e| io_failed("restore", &target.rel, &e))?;
            return Ok(UndoOutcome {
                action: INVERSE,
                output: json!({"path": target.rel, "restored": true, "bytes": old.len()}),
                already_done: None,
            });
        }

        let created_dirs: Vec<&str> = match data.get("created_dirs") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(dirs)) => dirs.iter().filter_map(Json::as_str).collect(),
            Some(_) => return Err(malformed("write_file", "`created_dirs` is not a list")),
        };
        let deleted = match now {
            Found::Missing => false,
            Found::File(_) => {
                // After an interrupted run the write may not have happened, and the file may be
                // someone else's: only delete what this step would have written.
                if output.is_null() {
                    let written = str_arg(args, "content").unwrap_or_default();
                    let current = read_capped(&target.full, &target.rel)?;
                    if current != written.as_bytes() {
                        return Err(ConnectorError::CannotUndo(format!(
                            "the run stopped while writing `{}`, and the file there now does \
                             not hold what write_file was writing, so it may not be Enact's; \
                             check it and delete it by hand if it should go",
                            target.rel
                        )));
                    }
                }
                fs::remove_file(&target.full).map_err(|e| io_failed("delete", &target.rel, &e))?;
                sync_parent(&target.full);
                true
            }
            Found::Dir | Found::Symlink | Found::Other => {
                return Err(ConnectorError::CannotUndo(format!(
                    "`{}` is no longer a regular file, so Enact will not delete it; check it by \
                     hand",
                    target.rel
                )));
            }
        };
        let mut removed_dirs = Vec::new();
        for rel in created_dirs.iter().rev() {
            if self.remove_dir_if_empty(rel) {
                removed_dirs.push(*rel);
            }
        }
        Ok(UndoOutcome {
            action: INVERSE,
            output: json!({"path": target.rel, "deleted": deleted, "removed_dirs": removed_dirs}),
            already_done: if deleted { None } else { Some("absent") },
        })
    }

    /// Removes a directory a write created, if it is still there, still confined and empty.
    fn remove_dir_if_empty(&self, rel: &str) -> bool {
        let Ok(target) = self.locate(rel) else {
            return false;
        };
        matches!(found(&target.full), Ok(Found::Dir)) && fs::remove_dir(&target.full).is_ok()
    }

    /// recreate_file: the deleted file back with its bytes and mode, never over another file.
    fn recreate_file(&self, data: &Json) -> Result<UndoOutcome, ConnectorError> {
        const INVERSE: &str = "recreate_file";
        let raw = data
            .get("path")
            .and_then(Json::as_str)
            .ok_or_else(|| malformed("delete_file", "no `path`"))?;
        let old = content_of(data).ok_or_else(|| malformed("delete_file", "no content"))?;
        let mode = parse_mode(data.get("mode"))?;
        let target = self.locate(raw)?;
        match found(&target.full)? {
            Found::Missing => {}
            Found::File(_) => {
                let current = read_capped(&target.full, &target.rel)?;
                if current == old {
                    return Ok(UndoOutcome {
                        action: INVERSE,
                        output: json!({"path": target.rel, "recreated": false}),
                        already_done: Some("present"),
                    });
                }
                return Err(ConnectorError::CannotUndo(format!(
                    "`{}` was created again since Enact deleted it and holds other content \
                     ({} bytes now, {} deleted); Enact will not overwrite it — the deleted \
                     content is in this step's rollback_data in the run's receipt (`content` \
                     or `content_base64`); compare and restore by hand",
                    target.rel,
                    current.len(),
                    old.len()
                )));
            }
            Found::Dir | Found::Symlink | Found::Other => {
                return Err(not_restorable(&target.rel, "delete_file"));
            }
        }
        let parent = target.full.parent().unwrap_or(&self.base);
        fs::create_dir_all(parent)
            .map_err(|e| io_failed("recreate the directory of", &target.rel, &e))?;
        write_atomically(&target.full, &old, mode)
            .map_err(|e| io_failed("recreate", &target.rel, &e))?;
        Ok(UndoOutcome {
            action: INVERSE,
            output: json!({"path": target.rel, "recreated": true, "bytes": old.len()}),
            already_done: None,
        })
    }
}

impl Connector for FilesystemConnector {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn actions(&self) -> &'static [ActionSpec] {
        ACTIONS
    }

    fn execute(
        &self,
        action: &str,
        args: &Json,
        prepared: &mut dyn FnMut(&Json) -> Result<(), String>,
    ) -> Result<ActionOutcome, ConnectorError> {
        let spec = find_action(KIND, ACTIONS, action)?;
        check_args(spec, args)?;
        match spec.name {
            "read_file" => self.read_file(args),
            "write_file" => self.write_file(args, prepared),
            "delete_file" => self.delete_file(args, prepared),
            _ => self.list_dir(args),
        }
    }

    fn undo(
        &self,
        action: &str,
        args: &Json,
        output: &Json,
        rollback_data: &Json,
    ) -> Result<UndoOutcome, ConnectorError> {
        let spec = find_action(KIND, ACTIONS, action)?;
        match spec.name {
            "write_file" => self.restore_file(args, output, rollback_data),
            "delete_file" => self.recreate_file(rollback_data),
            name => Err(ConnectorError::BadArgs(format!(
                "`{name}` is read-only: there is nothing to undo"
            ))),
        }
    }
}

fn join<'a>(base: &Path, parts: impl Iterator<Item = &'a String>) -> PathBuf {
    let mut path = base.to_path_buf();
    path.extend(parts);
    path
}

fn str_arg<'a>(args: &'a Json, name: &str) -> Option<&'a str> {
    args.get(name).and_then(Json::as_str)
}

fn found(path: &Path) -> Result<Found, ConnectorError> {
    match fs::symlink_metadata(path) {
        Ok(meta) => {
            let file_type = meta.file_type();
            Ok(if file_type.is_symlink() {
                Found::Symlink
            } else if file_type.is_dir() {
                Found::Dir
            } else if file_type.is_file() {
                Found::File(meta)
            } else {
                Found::Other
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Found::Missing),
        Err(e) => Err(ConnectorError::Failed(format!(
            "cannot inspect `{}`: {e}",
            path.display()
        ))),
    }
}

/// Reads a whole file, refusing one over `MAX_FILE_BYTES` (checked on the bytes actually read,
/// so a file growing meanwhile cannot slip through).
fn read_capped(path: &Path, rel: &str) -> Result<Vec<u8>, ConnectorError> {
    use std::io::Read;
    let file = fs::File::open(path).map_err(|e| io_failed("read", rel, &e))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_failed("read", rel, &e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ConnectorError::Refused(format!(
            "`{rel}` is larger than {MAX_FILE_BYTES} bytes; Enact neither reads nor captures \
             files that large"
        )));
    }
    Ok(bytes)
}

/// `content` for UTF-8 text, `content_base64` for anything else.
fn put_content(map: &mut Map<String, Json>, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => map.insert("content".into(), json!(text)),
        Err(_) => map.insert("content_base64".into(), json!(base64::encode(bytes))),
    };
}

fn content_of(data: &Json) -> Option<Vec<u8>> {
    if let Some(text) = data.get("content").and_then(Json::as_str) {
        return Some(text.as_bytes().to_vec());
    }
    let coded = data.get("content_base64").and_then(Json::as_str)?;
    base64::decode(coded).ok()
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(meta.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
fn mode_of(_meta: &fs::Metadata) -> Option<u32> {
    None
}

/// Modes are written in octal (`"0644"`) so a receipt reads like `ls -l` thinking.
fn mode_json(mode: Option<u32>) -> Json {
    mode.map_or(Json::Null, |m| json!(format!("{m:04o}")))
}

fn parse_mode(value: Option<&Json>) -> Result<Option<u32>, ConnectorError> {
    match value {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(text)) => u32::from_str_radix(text, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .map(Some)
            .ok_or_else(|| malformed("the file action", "`mode` is not an octal mode")),
        Some(_) => Err(malformed("the file action", "`mode` is not a string")),
    }
}

#[cfg(unix)]
fn set_mode(file: &fs::File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &fs::File, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Writes through a temporary file in the same directory and renames it over the target, so
/// readers see the old or the new content, never half of it. Without `mode` a new file gets
/// the process's default mode (umask applied).
fn write_atomically(target: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let parent = target
        .parent()
        .ok_or_else(|| io::Error::other("the path has no parent directory"))?;
    let temp = parent.join(format!(".enact-{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        if let Some(mode) = mode {
            set_mode(&file, mode)?;
        }
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    } else {
        sync_parent(target);
    }
    result
}

/// Makes a rename or unlink durable; best effort, since not every platform can sync a
/// directory and the change itself has already happened.
fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent()
        && let Ok(dir) = fs::File::open(parent)
    {
        let _ = dir.sync_all();
    }
}

fn remove_empty_dirs(created: &[PathBuf]) {
    for dir in created.iter().rev() {
        let _ = fs::remove_dir(dir);
    }
}

fn io_failed(what: &str, rel: &str, e: &io::Error) -> ConnectorError {
    ConnectorError::Failed(format!("could not {what} `{rel}`: {e}"))
}

fn not_regular(rel: &str) -> ConnectorError {
    ConnectorError::Refused(format!(
        "`{rel}` is not a regular file (a device, socket or pipe); Enact only handles files"
    ))
}

fn symlink_refused(rel: &str, verb: &str) -> ConnectorError {
    ConnectorError::Refused(format!(
        "`{rel}` is a symlink; Enact does not {verb} through symlinks, whose target can lie \
         outside base_dir or change under it — act on the file it points to instead"
    ))
}

fn not_restorable(rel: &str, action: &str) -> ConnectorError {
    ConnectorError::CannotUndo(format!(
        "`{rel}` is now a directory, symlink or special file, so Enact will not replace it; the \
         content {action} destroyed is in this step's rollback_data in the run's receipt — \
         restore it by hand"
    ))
}

fn malformed(action: &str, what: &str) -> ConnectorError {
    ConnectorError::CannotUndo(format!(
        "the rollback data of {action} is malformed ({what}); restore by hand from the receipt"
    ))
}

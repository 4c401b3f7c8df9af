//! File arguments given by reference: `{"uri": …}` instead of inline
//! `content`, so a model never has to carry a file's bytes through its
//! context. Two sources: a result this server holds for the caller
//! (`mcpgen://results/…`, a download over the budget), and a local file
//! inside the one directory the operator allowed (`--files-dir`, off by
//! default: a server must not read its host's files for whoever calls it).
//!
//! Resolved before the request is prepared: each reference becomes the inline
//! form (`content` as base64) that `upstream::FileArg` already reads.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::spec::{BodyEncoding, BodyShape, RequestSpec};
use crate::state::results::{Missing, RESULT_URI_PREFIX, ResultStore};
use crate::upstream::ArgError;

/// The most a referenced file may take: it is read into memory and sent.
pub const MAX_FILE_BYTES: u64 = 32 << 20;

/// Where a call's file references may point.
#[derive(Clone, Copy)]
pub struct FileSources<'a> {
    pub held: &'a ResultStore,
    /// Whose held results the call may read.
    pub owner: &'a str,
    /// The directory local files may come from (canonical); `None`: none.
    pub dir: Option<&'a Path>,
}

/// The operator's `--files-dir`, made canonical so that every file read can
/// be checked to be inside it after symlinks are followed.
pub fn allowed_dir(dir: &Path) -> Result<PathBuf, FilesDirError> {
    let canonical = dir.canonicalize().map_err(|source| FilesDirError::Unreadable {
        dir: dir.to_path_buf(),
        source,
    })?;
    if !canonical.is_dir() {
        return Err(FilesDirError::NotADirectory(dir.to_path_buf()));
    }
    Ok(canonical)
}

/// A `--files-dir` that can't be used.
#[derive(Debug, thiserror::Error)]
pub enum FilesDirError {
    #[error("--files-dir {}: {source}", dir.display())]
    Unreadable { dir: PathBuf, source: std::io::Error },
    #[error("--files-dir {}: not a directory", .0.display())]
    NotADirectory(PathBuf),
}

/// The arguments of `request` that are files.
fn file_args(request: &RequestSpec) -> Vec<&'static str> {
    let Some(body) = &request.body else {
        return Vec::new();
    };
    match (&body.shape, body.encoding) {
        (BodyShape::Whole { arg }, BodyEncoding::Binary) => vec![*arg],
        (BodyShape::Fields(fields), BodyEncoding::Multipart) => {
            fields.iter().filter(|f| f.file).map(|f| f.arg).collect()
        }
        _ => Vec::new(),
    }
}

/// Replaces each `{"uri": …}` file argument with its content, inline.
pub async fn resolve(
    request: &RequestSpec,
    args: &mut Map<String, Value>,
    sources: FileSources<'_>,
) -> Result<(), ArgError> {
    for arg in file_args(request) {
        let Some(Value::Object(file)) = args.get_mut(arg) else {
            continue;
        };
        let Some(uri) = file.get("uri").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        if file.contains_key("content") {
            return Err(ArgError(format!("`{arg}` has both `content` and `uri`; give one")));
        }
        let (bytes, media_type, name) = if uri.starts_with(RESULT_URI_PREFIX) {
            held(arg, &uri, sources).await?
        } else {
            local(arg, &uri, sources.dir).await?
        };
        file.remove("uri");
        file.insert(
            "content".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
        );
        file.insert("encoding".into(), json!("base64"));
        if !file.contains_key("media_type")
            && let Some(media_type) = media_type
        {
            file.insert("media_type".into(), json!(media_type));
        }
        if !file.contains_key("filename")
            && let Some(name) = name
        {
            file.insert("filename".into(), json!(name));
        }
    }
    Ok(())
}

type Resolved = (Vec<u8>, Option<String>, Option<String>);

async fn held(arg: &str, uri: &str, sources: FileSources<'_>) -> Result<Resolved, ArgError> {
    match sources.held.whole(sources.owner, uri).await {
        Ok((bytes, media_type)) => Ok((bytes, Some(media_type), None)),
        Err(Missing::Gone) => Err(ArgError(format!(
            "`{arg}.uri` {uri} is not held: results are kept for {} minutes, for the caller they were made for; \
             call the tool that made it again, then pass its new link",
            sources.held.ttl().as_secs().div_ceil(60)
        ))),
        Err(Missing::Unavailable(why)) => Err(ArgError(format!(
            "`{arg}.uri` {uri} can't be read now: {why}; try again shortly"
        ))),
        Err(Missing::NoSuchPage { .. } | Missing::NotOurs) => Err(ArgError(format!(
            "`{arg}.uri` {uri} is not a result link of this server; pass the link a result gave (`{RESULT_URI_PREFIX}<id>`)"
        ))),
    }
}

async fn local(arg: &str, uri: &str, dir: Option<&Path>) -> Result<Resolved, ArgError> {
    let Some(dir) = dir else {
        return Err(ArgError(format!(
            "`{arg}.uri`: this server reads no local files; pass the file inline (`content`, with `encoding: base64` \
             for binary data) or a `{RESULT_URI_PREFIX}…` link a result gave. The server's operator can allow one \
             directory with --files-dir"
        )));
    };
    let path = match uri.strip_prefix("file:") {
        Some(_) => url::Url::parse(uri)
            .ok()
            .and_then(|url| url.to_file_path().ok())
            .ok_or_else(|| {
                ArgError(format!(
                    "`{arg}.uri` {uri} is not a local file URL such as file:///data/a.pdf"
                ))
            })?,
        None if uri.contains("://") => {
            return Err(ArgError(format!(
                "`{arg}.uri` {uri}: only `{RESULT_URI_PREFIX}…` links and local files (a path, or file://) can be sent"
            )));
        }
        None => dir.join(uri),
    };
    let outside = || {
        ArgError(format!(
            "`{arg}.uri` {uri} is not a file inside the directory this server may read ({}); name a file there, relative to it",
            dir.display()
        ))
    };
    // Canonical, so `..` and symlinks can't lead outside.
    let path = tokio::fs::canonicalize(&path).await.map_err(|_| outside())?;
    if !path.starts_with(dir) {
        return Err(outside());
    }
    let metadata = tokio::fs::metadata(&path).await.map_err(|_| outside())?;
    if !metadata.is_file() {
        return Err(outside());
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(ArgError(format!(
            "`{arg}.uri` {uri} has {} bytes; files of at most {MAX_FILE_BYTES} bytes can be sent",
            metadata.len()
        )));
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| ArgError(format!("`{arg}.uri` {uri} can't be read ({e})")))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Ok((bytes, None, name))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::spec::{BodyField, BodySpec};

    static FIELDS: [BodyField; 2] = [
        BodyField::named("caption"),
        BodyField {
            file: true,
            ..BodyField::named("file")
        },
    ];

    fn upload() -> RequestSpec {
        RequestSpec {
            method: crate::spec::Method::Post,
            path: "/upload",
            server: None,
            params: &[],
            body: Some(BodySpec {
                media_type: "multipart/form-data",
                encoding: BodyEncoding::Multipart,
                shape: BodyShape::Fields(&FIELDS),
            }),
            security: &[],
        }
    }

    fn store() -> ResultStore {
        crate::state::results::tests::in_memory(1 << 20, 8, Duration::from_secs(60))
    }

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[tokio::test]
    async fn held_results_and_allowed_files_become_inline_content() {
        let store = store();
        let link = store
            .put_blob("ann", "application/pdf", "JVBERi0=".into(), 4096)
            .await
            .unwrap()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        let canonical = allowed_dir(dir.path()).unwrap();
        let sources = FileSources {
            held: &store,
            owner: "ann",
            dir: Some(&canonical),
        };
        let mut a = args(json!({"caption": "x", "file": {"uri": link.uri}}));
        resolve(&upload(), &mut a, sources).await.unwrap();
        assert_eq!(
            a["file"],
            json!({"content": "JVBERi0=", "encoding": "base64", "media_type": "application/pdf"})
        );
        let mut a = args(json!({"file": {"uri": "notes.txt", "media_type": "text/plain"}}));
        resolve(&upload(), &mut a, sources).await.unwrap();
        assert_eq!(
            a["file"],
            json!({"content": "aGVsbG8=", "encoding": "base64", "media_type": "text/plain", "filename": "notes.txt"})
        );
        let url = url::Url::from_file_path(dir.path().join("notes.txt")).unwrap();
        let mut a = args(json!({"file": {"uri": url.as_str()}}));
        resolve(&upload(), &mut a, sources).await.unwrap();
        assert_eq!(a["file"]["content"], "aGVsbG8=");
    }

    #[tokio::test]
    async fn references_outside_what_the_caller_may_read_are_refused() {
        let store = store();
        let link = store
            .put("bob", "application/json", "{}".into(), 4096)
            .await
            .unwrap()
            .unwrap();
        let outer = tempfile::tempdir().unwrap();
        let dir = outer.path().join("shared");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(outer.path().join("secret.txt"), "s3cret").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(outer.path().join("secret.txt"), dir.join("link.txt")).unwrap();
        let canonical = allowed_dir(&dir).unwrap();
        let sources = FileSources {
            held: &store,
            owner: "ann",
            dir: Some(&canonical),
        };
        let refused = |uri: &str| {
            let mut a = args(json!({"file": {"uri": uri}}));
            async move { resolve(&upload(), &mut a, sources).await.unwrap_err().0 }
        };
        // Another caller's result is as absent as an expired one.
        assert!(refused(&link.uri).await.contains("is not held"));
        for uri in ["../secret.txt", "link.txt", "/etc/passwd", "missing.txt", "."] {
            let why = refused(uri).await;
            assert!(why.contains("is not a file inside the directory"), "{uri}: {why}");
            assert!(!why.contains("s3cret"), "{why}");
        }
        assert!(
            refused("https://example.com/a.pdf")
                .await
                .contains("only `mcpgen://results/…` links")
        );
        let mut both = args(json!({"file": {"uri": "a", "content": "b"}}));
        assert!(
            resolve(&upload(), &mut both, sources)
                .await
                .unwrap_err()
                .0
                .contains("both")
        );
        // Without --files-dir no path is read, and the error says how to send the file instead.
        let closed = FileSources { dir: None, ..sources };
        let mut a = args(json!({"file": {"uri": "notes.txt"}}));
        let why = resolve(&upload(), &mut a, closed).await.unwrap_err().0;
        assert!(
            why.contains("reads no local files") && why.contains("--files-dir"),
            "{why}"
        );
        // A caption is not a file: its object stays as it is.
        let mut a = args(json!({"caption": {"uri": "x"}}));
        resolve(&upload(), &mut a, closed).await.unwrap();
        assert_eq!(a["caption"], json!({"uri": "x"}));
    }
}

//! `mcpgen update`: fetch the spec mcpgen.yaml names by URL, check it,
//! pin it, regenerate, and say what the change does to the agents.
//!
//! Nothing is replaced until the download has been generated from: a spec
//! that fails to load, or that the selection no longer fits, leaves the copy,
//! mcpgen.lock and the crate as they were.

use std::path::Path;

use crate::commands::diff::{self, Report};
use crate::diag::{Diagnostic, Error};
use crate::load::remote::{self, SpecPin};
use crate::render::write::{self, Changes};
use crate::{SpecInput, build_with, read_lock, select};

pub struct Updated {
    pub pin: SpecPin,
    /// Whether the fetched spec differs from the copy there was.
    pub spec_changed: bool,
    pub report: Report,
    pub changes: Changes,
    /// Why the copy there was could not be generated from (the report then compares against no tools).
    pub old_failed: Option<String>,
}

pub fn update(config_path: &Path) -> Result<Updated, Error> {
    let config_file = config_path.display().to_string();
    let text = std::fs::read_to_string(config_path).map_err(|e| Error::io(format!("can't read {config_file}"), e))?;
    let selection = select::config::parse(&config_file, &text)?;
    let url = selection.spec.value.clone();
    if !remote::is_url(&url) {
        let at = &selection.spec.referenced;
        return Err(Error::one(
            Diagnostic::new(
                &config_file,
                format!("`spec` is the file `{url}`: there is nothing to fetch"),
            )
            .line_col(at.line(), at.column())
            .help("`mcpgen update` fetches a spec named by URL (`spec: https://…`); for a file, run `mcpgen generate`"),
        ));
    }
    let base = config_path.parent().unwrap_or(Path::new(""));
    let lock = read_lock(&base.join(crate::plan::names::LOCK_FILE))?;
    let body = remote::fetch(&url, &config_file)?;
    let earlier = lock.spec.filter(|pin| pin.url == url);
    let file = earlier
        .as_ref()
        .map_or_else(|| remote::copy_name(&url, &body), |pin| pin.file.clone());
    let pin = SpecPin {
        url,
        file,
        sha256: remote::sha256(&body),
    };

    // The download is generated from before anything is replaced.
    let scratch = tempfile::tempdir().map_err(|e| Error::io("can't make a temporary directory", e))?;
    let fetched = scratch.path().join(&pin.file);
    std::fs::write(&fetched, &body).map_err(|e| Error::io(format!("can't write {}", fetched.display()), e))?;
    let new = build_with(config_path, SpecInput::Fetched(&fetched, &pin))?;
    // What the crate was made from: the copy as it is. One that no longer
    // generates (edited by hand) is compared as no tools, and said so.
    let copy = base.join(&pin.file);
    let (old, old_failed) = match copy
        .is_file()
        .then(|| build_with(config_path, SpecInput::Earlier(&copy)))
    {
        Some(Ok(old)) => (Some(old), None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    };
    let old_tools = old.as_ref().map_or(&[][..], |g| &g.plan.tools[..]);
    let report = diff::diff(old_tools, &new.plan.tools, new.plan.schema_profile);

    let spec_changed = earlier.as_ref().is_none_or(|e| e.sha256 != pin.sha256);
    if std::fs::read(&copy).ok().as_deref() != Some(&body[..]) {
        // Written beside it, then renamed into place: a reader never sees half a spec.
        let cannot = |e: std::io::Error| Error::io(format!("can't write {}", copy.display()), e);
        let mut beside = tempfile::NamedTempFile::new_in(copy.parent().unwrap_or(Path::new("."))).map_err(cannot)?;
        std::io::Write::write_all(&mut beside, &body).map_err(cannot)?;
        beside.persist(&copy).map_err(|e| cannot(e.error))?;
    }
    let changes = write::write(&new.output_dir, &new.files)?;
    Ok(Updated {
        pin,
        spec_changed,
        report,
        changes,
        old_failed,
    })
}

//! The crates as they would be published, without a network: `cargo package`
//! output served, with this workspace's vendored dependencies, from a
//! directory registry that stands in for crates.io, and a shell that has only
//! the toolchain, the system and that registry.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;

use crate::{target_dir, workspace_root};

/// What the release publishes: the spec crate, then the two that depend on it
/// (`tests/e2e/release.rs` checks the release workflow names exactly these).
pub const PUBLISHED: &[&str] = &["mcpgen-spec", "mcpgen-runtime", "mcpgen"];

/// The workspace version, which every published crate has.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn run(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(out.status.success(), "{command:?}: {}", report(&out));
}

/// A command's stdout and stderr, for assertions and their messages.
pub fn report(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A cargo home whose crates.io is a directory on disk.
pub struct LocalRegistry {
    pub home: PathBuf,
    /// The `.crate` files `cargo package` made.
    packaged: PathBuf,
    /// PATH: the home's `bin` (where `cargo install` puts binaries), the toolchain, the system.
    path: String,
}

impl LocalRegistry {
    /// Vendors this workspace's dependencies (every platform's) and adds the
    /// published crates as `cargo package` makes them; the cargo home is in
    /// `scratch`. The registry itself is always at `<target>/local-registry`:
    /// cargo fingerprints a dependency by its source path, so a fixed path lets
    /// every test building from it reuse what the others (and, with CI's
    /// cached target directory, earlier runs) compiled in `<target>/workflow`. (The tests using it run alone: `.config/nextest.toml`.)
    pub fn new(scratch: &Path) -> LocalRegistry {
        // Builds from it compile whole crates: only the binary that runs alone may.
        let exe = std::env::current_exe().expect("this binary's path");
        let name = exe.file_name().expect("a file name").to_string_lossy();
        assert!(
            name.starts_with("e2e_release-"),
            "{name}: tests that build from the local registry belong in tests/e2e/release.rs, which runs alone"
        );
        let vendor = target_dir().join("local-registry");
        for name in PUBLISHED {
            // No file of an earlier package of ours survives into this one.
            let _ = std::fs::remove_dir_all(vendor.join(format!("{name}-{VERSION}")));
        }
        run(Command::new(cargo())
            .args(["vendor", "--versioned-dirs", "--quiet"])
            .arg(&vendor)
            .current_dir(workspace_root()));
        let target = scratch.join("package-target");
        let mut package = Command::new(cargo());
        package.args(["package", "--offline", "--allow-dirty", "--no-verify", "--quiet"]);
        for name in PUBLISHED {
            package.args(["-p", name]);
        }
        run(package.arg("--target-dir").arg(&target).current_dir(workspace_root()));
        let packaged = target.join("package");
        // Cargo takes a registry crate of a given version as immutable: a
        // changed crate at the same path and version would not be rebuilt.
        // So when ours changed, their builds from this registry are forgotten.
        let digests: String = PUBLISHED
            .iter()
            .map(|name| sha256(&packaged.join(format!("{name}-{VERSION}.crate"))))
            .collect::<Vec<_>>()
            .join(" ");
        let stamp = vendor.join(".mcpgen-crates");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(digests.as_str()) {
            for profile in ["debug", "release"] {
                forget_registry_builds(&target_dir().join("workflow").join(profile), "local-registry");
            }
        }
        for name in PUBLISHED {
            let file = packaged.join(format!("{name}-{VERSION}.crate"));
            run(Command::new("tar").arg("-xzf").arg(&file).arg("-C").arg(&vendor));
            std::fs::write(
                vendor.join(format!("{name}-{VERSION}/.cargo-checksum.json")),
                json!({"files": {}, "package": sha256(&file)}).to_string(),
            )
            .unwrap();
        }
        std::fs::write(&stamp, &digests).unwrap();
        let home = scratch.join("cargo-home");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(
            home.join("config.toml"),
            format!(
                "[source.crates-io]\nreplace-with = \"local\"\n\n[source.local]\ndirectory = {:?}\n\n[net]\noffline = true\n",
                vendor.display().to_string()
            ),
        )
        .unwrap();
        let cargo = PathBuf::from(cargo());
        let toolchain = cargo.parent().filter(|p| !p.as_os_str().is_empty());
        let path = format!(
            "{}:{}:/usr/bin:/bin",
            home.join("bin").display(),
            toolchain.map_or("/usr/local/bin".into(), |p| p.display().to_string())
        );
        LocalRegistry { home, packaged, path }
    }

    /// The size of a published crate's `.crate` file, in bytes.
    pub fn crate_size(&self, name: &str) -> u64 {
        std::fs::metadata(self.packaged.join(format!("{name}-{VERSION}.crate")))
            .unwrap()
            .len()
    }

    /// Unpacks a published crate into `dir` (its sources as a user gets them).
    pub fn unpack(&self, name: &str, dir: &Path) {
        let scratch = dir.with_extension("unpacking");
        std::fs::create_dir_all(&scratch).unwrap();
        let file = self.packaged.join(format!("{name}-{VERSION}.crate"));
        run(Command::new("tar").arg("-xzf").arg(&file).arg("-C").arg(&scratch));
        std::fs::rename(scratch.join(format!("{name}-{VERSION}")), dir).unwrap();
        std::fs::remove_dir(&scratch).unwrap();
    }

    /// `script` run by bash in `dir` with only the toolchain, the system and
    /// this registry: no mcpgen until something installs it.
    pub fn shell(&self, dir: &Path, script: &str) -> Output {
        self.command(dir, script).output().unwrap()
    }

    pub fn command(&self, dir: &Path, script: &str) -> Command {
        let mut command = Command::new("bash");
        command
            .args(["-eo", "pipefail", "-c", script])
            .current_dir(dir)
            .env("PATH", &self.path)
            .env("CARGO_HOME", &self.home)
            .env_remove("RUSTC_WRAPPER")
            // Kept between local runs, shared by every test building from a
            // registry like this one; a fresh checkout builds once.
            .env("CARGO_TARGET_DIR", target_dir().join("workflow"));
        command
    }
}

fn sha256(file: &Path) -> String {
    let out = Command::new("sha256sum").arg(file).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Makes cargo rebuild our crates where `profile_dir` (`target/<dir>/<profile>`)
/// holds builds of them from a registry whose path contains `registry`: their
/// fingerprints go (a build's `deps/<crate>-<hash>.d` names its sources).
pub fn forget_registry_builds(profile_dir: &Path, registry: &str) {
    let Ok(entries) = std::fs::read_dir(profile_dir.join("deps")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".d") else {
            continue;
        };
        let ours = PUBLISHED
            .iter()
            .any(|crate_name| stem.starts_with(&format!("{}-", crate_name.replace('-', "_"))));
        if ours && std::fs::read_to_string(entry.path()).is_ok_and(|d| d.contains(registry)) {
            let (crate_name, hash) = stem.rsplit_once('-').unwrap();
            let fingerprint = format!("{}-{hash}", crate_name.replace('_', "-"));
            let _ = std::fs::remove_dir_all(profile_dir.join(".fingerprint").join(fingerprint));
        }
    }
}

/// Copies a directory tree, leaving out `target` directories.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target)?;
            }
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

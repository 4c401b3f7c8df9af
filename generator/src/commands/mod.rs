//! The subcommands besides `generate`, each on top of the pipeline's stages:
//! `init` (a starter selection file; `wizard` when interactive), `list` (what each operation becomes and
//! why), `lint` (release checks of the selected tools), `diff` (what a spec change does to agents) and
//! `update` (fetch a spec named by URL, then regenerate and diff).

pub mod diff;
pub mod init;
pub mod lint;
pub mod list;
pub mod update;
pub mod wizard;
